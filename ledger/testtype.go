//go:build ledger_testtype

package ledger

// TypeTestOnly exists only in a build with the ledger_testtype tag: it stands for the
// next event type someone adds, so that TestConsumersNameAMissingEventType can show that
// every consumer's exhaustiveness test names it.
const TypeTestOnly EventType = "test.only"

func init() { EventTypes = append(EventTypes, TypeTestOnly) }
