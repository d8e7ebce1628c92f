package ledger

// ChangesCatalog reports whether an event of type t changes the catalog (State.Apply's
// catalog cases). A history index keeps those events, few beside the money, to rebuild
// the catalog at a past position with FoldCatalog; TestFoldCatalogMatchesApply holds the
// two equal over the sample history, which has an event of every type.
func (t EventType) ChangesCatalog() bool {
	switch t {
	case TypeProgramRegistered, TypeProjectRegistered, TypeUnitRegistered, TypeSourceRegistered, TypeUnitReorganized:
		return true
	}
	return false
}

// FoldCatalog returns the catalog that events, in position order, make: the catalog of a
// State that applied them and every other event between them. Events whose type does
// not change the catalog are ignored. The catalog shares the events' programs, projects,
// units and sources, which nothing changes in place.
func FoldCatalog(events []*Event) *Catalog {
	c := &Catalog{}
	c.init()
	for _, e := range events {
		d := &e.Data
		switch e.Type {
		case TypeProgramRegistered:
			c.Programs[d.Program.Code] = d.Program
		case TypeProjectRegistered:
			c.Projects[projectKey(d.Project.Program, d.Project.Code)] = d.Project
		case TypeUnitRegistered:
			c.Units[d.Unit.ID] = d.Unit
		case TypeSourceRegistered:
			c.Sources[d.Source.Code] = d.Source
		case TypeUnitReorganized:
			c.applyReorganize(e.EffectiveDate, d.Reorganization)
		}
	}
	return c
}
