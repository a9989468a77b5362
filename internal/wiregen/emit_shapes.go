package main

import (
	"bytes"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

func (g *gen) genShapes(w *bytes.Buffer) error {
	for _, s := range g.shapes {
		name, ok := g.goName[s.name]
		if !ok || !isEnum(s) {
			continue
		}
		fmt.Fprintf(w, "// %s is the model's %s enum.\ntype %s string\n\n", name, s.name, name)
		fmt.Fprintf(w, "// %s values, in model order.\nconst (\n", name)
		for _, v := range s.Enum {
			fmt.Fprintf(w, "%s %s = %s\n", enumConst(name, v), name, strconv.Quote(v))
		}
		w.WriteString(")\n\n")
		fmt.Fprintf(w, "// Values returns the %s values the model defines, in model order.\n", name)
		fmt.Fprintf(w, "func (%s) Values() []%s {\nreturn []%s{", name, name, name)
		for i, v := range s.Enum {
			if i > 0 {
				w.WriteString(", ")
			}
			w.WriteString(enumConst(name, v))
		}
		w.WriteString("}\n}\n\n")
	}
	for _, s := range g.shapes {
		name, ok := g.goName[s.name]
		if !ok || s.Type != "structure" {
			continue
		}
		switch {
		case g.inputOp[s.name] != "":
			fmt.Fprintf(w, "// %s is the input of the %s operation (model shape %s).\n", name, g.inputOp[s.name], s.name)
		case g.outputOp[s.name] != "":
			fmt.Fprintf(w, "// %s is the output of the %s operation (model shape %s).\n", name, g.outputOp[s.name], s.name)
		default:
			fmt.Fprintf(w, "// %s is the model's %s structure.\n", name, s.name)
		}
		fmt.Fprintf(w, "type %s struct {\n", name)
		for _, m := range s.Members {
			t := g.shape(m.Shape)
			var notes []string
			if slices.Contains(s.Required, m.Name) {
				note := "required"
				if t.Type == "list" || t.Type == "map" {
					note += " (nil encodes as empty)"
				}
				notes = append(notes, note)
			}
			if t.Sensitive {
				notes = append(notes, "sensitive")
			}
			if len(notes) > 0 {
				fmt.Fprintf(w, "// %s is %s.\n", m.Name, strings.Join(notes, " and "))
			}
			fmt.Fprintf(w, "%s %s `json:\"%s,omitempty\"`\n", m.Name, g.fieldType(m.Shape), m.Name)
		}
		w.WriteString("}\n\n")
	}
	return nil
}
