package ledger

import (
	"crypto/sha256"
	"time"

	"github.com/google/uuid"
)

// Access events: the creation and the revocation of an access token are recorded in the
// hash chain (access.token_created, access.token_revoked), so that who could act, from
// when to when, is as tamper-evident as what they did. The event names the token (id,
// name, role, unit, expiry), never its secret or the secret's hash; it makes no postings.
// metadata.actor says who created or revoked it. The tokens table stays what
// authenticates requests; these events are its history.

// TokenRecord is a token as an access event records it.
type TokenRecord struct {
	ID   string `json:"id"`
	Name string `json:"name,omitempty"`
	Role string `json:"role,omitempty"`
	// Unit is the root of the subtree an officer or leader is held to; "" every unit.
	Unit string `json:"unit,omitempty"`
	// ExpiresAt is the token's expiry, RFC 3339 in UTC at microsecond precision.
	ExpiresAt string `json:"expires_at,omitempty"`
}

// RecordTokenCreated records that a token was created, on EffectiveDate.
type RecordTokenCreated struct {
	Token         TokenRecord `json:"token"`
	EffectiveDate Date        `json:"effective_date"`
}

// RecordTokenRevoked records that a token was revoked, on EffectiveDate.
type RecordTokenRevoked struct {
	Token         TokenRecord `json:"token"`
	EffectiveDate Date        `json:"effective_date"`
}

func (c *RecordTokenCreated) Validate() error { return c.Token.validate(c.EffectiveDate) }
func (c *RecordTokenRevoked) Validate() error { return c.Token.validate(c.EffectiveDate) }

func (r *TokenRecord) validate(d Date) error {
	id, err := uuid.Parse(r.ID)
	if err != nil || id == uuid.Nil || id.String() != r.ID {
		return invalid("token.id", "must be a token id (UUID, lower case)")
	}
	if _, err := ParseRole(r.Role); err != nil {
		return WithFieldPrefix(err, "token")
	}
	if err := checkText(r.Name, "token.name", true); err != nil {
		return err
	}
	if r.Unit != "" {
		if err := checkCode(r.Unit, "token.unit"); err != nil {
			return err
		}
	}
	if _, err := time.Parse(time.RFC3339Nano, r.ExpiresAt); err != nil {
		return invalid("token.expires_at", "must be an RFC 3339 time")
	}
	return checkDate(d, "effective_date")
}

// Token actions, as TokenAccessRequest takes them (the token_audit table's words).
const (
	TokenActionCreated = "created"
	TokenActionRevoked = "revoked"
)

// TokenAccessRequest is the request that records action (TokenActionCreated or
// TokenActionRevoked) of token t at time at, by actor. Every path that records it — the
// API after creating or revoking a token, the writer catching up with the tokens
// table, `ledger token` — builds the same request, and its idempotency key
// "access:<action>:<token id>" makes the event recorded once however many of them try.
func TokenAccessRequest(action string, t *Token, actor string, at time.Time) *Request {
	rec := TokenRecord{ID: t.ID.String(), Name: t.Name, Role: string(t.Role), Unit: t.Unit,
		ExpiresAt: t.ExpiresAt.UTC().Truncate(time.Microsecond).Format(time.RFC3339Nano)}
	d := DateOf(at.UTC())
	var cmd Command
	if action == TokenActionRevoked {
		cmd = &RecordTokenRevoked{Token: rec, EffectiveDate: d}
	} else {
		cmd = &RecordTokenCreated{Token: rec, EffectiveDate: d}
	}
	key := "access:" + action + ":" + rec.ID
	h := sha256.New()
	h.Write([]byte(key))
	for _, s := range []string{rec.Name, rec.Role, rec.Unit, rec.ExpiresAt, d.String()} {
		h.Write([]byte{0})
		h.Write([]byte(s))
	}
	var sum [32]byte
	h.Sum(sum[:0])
	return &Request{Commands: []Command{cmd}, Atomic: true, Key: key, Hash: sum, Meta: Metadata{Actor: actor, IdempotencyKey: key}}
}

// tokenState is what the write model remembers of a token: whether its creation and its
// revocation are recorded.
type tokenState uint8

const (
	tokenCreated tokenState = 1 << iota
	tokenRevoked
)

// decideAccess decides a token command: a token is created once, revoked once, and only
// after its creation.
func (s *State) decideAccess(cmd Command) (EventType, Date, EventData, error) {
	switch cmd := cmd.(type) {
	case *RecordTokenCreated:
		if s.tokens[cmd.Token.ID]&tokenCreated != 0 {
			return "", 0, EventData{}, invalid("token.id", "the creation of token %s is already recorded", cmd.Token.ID)
		}
		r := cmd.Token
		return TypeTokenCreated, cmd.EffectiveDate, EventData{Token: &r}, nil
	case *RecordTokenRevoked:
		switch st := s.tokens[cmd.Token.ID]; {
		case st&tokenCreated == 0:
			return "", 0, EventData{}, unknownRef("token.id", "no recorded token %s", cmd.Token.ID)
		case st&tokenRevoked != 0:
			return "", 0, EventData{}, invalid("token.id", "the revocation of token %s is already recorded", cmd.Token.ID)
		}
		r := cmd.Token
		return TypeTokenRevoked, cmd.EffectiveDate, EventData{Token: &r}, nil
	}
	panic("ledger: decideAccess of a command that is not a token command")
}

// applyAccess and revertAccess keep the token states of the write model.
func (s *State) applyAccess(e *Event) {
	if s.tokens == nil {
		s.tokens = map[string]tokenState{}
	}
	if e.Type == TypeTokenCreated {
		s.tokens[e.Data.Token.ID] |= tokenCreated
	} else {
		s.tokens[e.Data.Token.ID] |= tokenRevoked
	}
}

func (s *State) revertAccess(e *Event) {
	if e.Type == TypeTokenCreated {
		delete(s.tokens, e.Data.Token.ID)
	} else {
		s.tokens[e.Data.Token.ID] &^= tokenRevoked
	}
	if len(s.tokens) == 0 {
		s.tokens = nil // as a fold without access events leaves it
	}
}

// authorizeAccess refuses a token command to any principal but an admin: only who
// manages tokens records their history (the server does it on the admin's behalf). A nil
// principal is the ledger itself.
func authorizeAccess(req *Request) error {
	if req.Principal == nil || req.Principal.Role == RoleAdmin {
		return nil
	}
	for _, c := range req.Commands {
		switch c.(type) {
		case *RecordTokenCreated, *RecordTokenRevoked:
			return &Error{Code: CodeForbidden, Message: "only an admin records the creation or revocation of tokens"}
		}
	}
	return nil
}
