package openapitest

import (
	"slices"

	"github.com/getkin/kin-openapi/openapi3"
)

// closeObjects makes the document strict: every object schema that lists
// its properties and says nothing of additionalProperties gets
// additionalProperties: false, so a field the document does not name is an
// error. Explicit maps (additionalProperties: a schema or true) stay as they
// are, and so do free-form objects that list no properties.
//
// Composition needs care, because additionalProperties only sees the
// properties of the schema it is in:
//   - a member of an allOf sees only its share of the properties, so it must
//     stay open there. Each allOf gets open copies of its members (a shared
//     component such as a base schema stays closed where it is used alone),
//     and the schema with the allOf is closed over the union of its own
//     properties and its members' (added to it as {}, so the members still
//     check them), when every member can be flattened so;
//   - a schema with properties of its own beside a oneOf or anyOf is combined
//     with one alternative: both stay open (the alternatives as copies). The
//     alternatives of a oneOf or anyOf without properties beside them are
//     whole objects, closed like any other.
func closeObjects(doc *openapi3.T) error {
	open := map[*openapi3.Schema]bool{}
	openCopies := func(refs openapi3.SchemaRefs) openapi3.SchemaRefs {
		out := slices.Clone(refs)
		for i, m := range out {
			if m == nil || m.Value == nil {
				continue
			}
			c := *m.Value
			c.AllOf, c.OneOf, c.AnyOf = slices.Clone(c.AllOf), slices.Clone(c.OneOf), slices.Clone(c.AnyOf)
			open[&c] = true
			// No $ref: the copy must not be taken for the component.
			out[i] = &openapi3.SchemaRef{Value: &c}
		}
		return out
	}
	if err := doc.WalkSchemas(func(_ string, ref *openapi3.SchemaRef) error {
		s := ref.Value
		if len(s.AllOf) > 0 {
			s.AllOf = openCopies(s.AllOf)
		}
		if len(s.Properties) > 0 && len(s.OneOf)+len(s.AnyOf) > 0 {
			open[s] = true
			s.OneOf, s.AnyOf = openCopies(s.OneOf), openCopies(s.AnyOf)
		}
		return nil
	}); err != nil {
		return err
	}
	return doc.WalkSchemas(func(_ string, ref *openapi3.SchemaRef) error {
		s := ref.Value
		if open[s] || !unspecified(s) || s.UnevaluatedProperties.Has != nil || s.UnevaluatedProperties.Schema != nil {
			return nil
		}
		switch {
		case len(s.AllOf) > 0:
			names := map[string]bool{}
			if !flatten(s, names, map[*openapi3.Schema]bool{}) {
				return nil
			}
			if s.Properties == nil {
				s.Properties = openapi3.Schemas{}
			}
			for name := range names {
				if s.Properties[name] == nil {
					s.Properties[name] = &openapi3.SchemaRef{Value: &openapi3.Schema{}}
				}
			}
			s.AdditionalProperties = openapi3.AdditionalProperties{Has: openapi3.Ptr(false)}
		case len(s.Properties) > 0 && len(s.OneOf)+len(s.AnyOf) == 0:
			s.AdditionalProperties = openapi3.AdditionalProperties{Has: openapi3.Ptr(false)}
		}
		return nil
	})
}

func unspecified(s *openapi3.Schema) bool {
	return s.AdditionalProperties.Has == nil && s.AdditionalProperties.Schema == nil
}

// flatten adds to names the properties of s and of its allOf members,
// recursively. It returns false when the union is not the whole set of
// allowed properties: when a member allows more (a map, patternProperties,
// a oneOf or anyOf) or names none (free-form).
func flatten(s *openapi3.Schema, names map[string]bool, seen map[*openapi3.Schema]bool) bool {
	if seen[s] {
		return true
	}
	seen[s] = true
	closed := s.AdditionalProperties.Has != nil && !*s.AdditionalProperties.Has
	if len(s.OneOf)+len(s.AnyOf) > 0 || len(s.PatternProperties) > 0 || !unspecified(s) && !closed {
		return false
	}
	for name := range s.Properties {
		names[name] = true
	}
	for _, m := range s.AllOf {
		if m == nil || m.Value == nil || len(m.Value.Properties) == 0 && len(m.Value.AllOf) == 0 {
			return false
		}
		if !flatten(m.Value, names, seen) {
			return false
		}
	}
	return true
}
