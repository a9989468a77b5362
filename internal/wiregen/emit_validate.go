package main

import (
	"bytes"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

func (g *gen) genValidate(w *bytes.Buffer) error {
	var body bytes.Buffer
	// Shape-level checks, for every shape reachable from an input that has
	// something to check, in name order.
	for _, s := range g.shapes {
		if !g.reach[s.name] || !g.checks[s.name] {
			continue
		}
		switch s.Type {
		case "string":
			g.validateString(&body, s)
		case "blob":
			min, max, _ := sizeBounds(s)
			fmt.Fprintf(&body, "func validate%s(vd *codec.Validator, p *codec.Path, v []byte) {\n", s.name)
			fmt.Fprintf(&body, "vd.Size(p, len(v), %d, %d, func() string { return %s })\n}\n\n", min, max, goString(`'***'`))
		case "integer", "long":
			fmt.Fprintf(&body, "func validate%s(vd *codec.Validator, p *codec.Path, v %s) {\n", s.name, g.valueType(s.name))
			if s.Min != nil {
				fmt.Fprintf(&body, "if v < %d {\nvd.IntMin(p, int64(v), %d)\n}\n", *s.Min, *s.Min)
			}
			if s.Max != nil {
				fmt.Fprintf(&body, "if v > %d {\nvd.IntMax(p, int64(v), %d)\n}\n", *s.Max, *s.Max)
			}
			body.WriteString("}\n\n")
		case "list":
			g.validateList(&body, s)
		case "map":
			g.validateMap(&body, s)
		case "structure":
			g.validateStruct(&body, s)
		}
	}
	// Validate methods on the inputs.
	for _, op := range g.ops {
		name := g.goName[op.Input.Shape]
		fmt.Fprintf(&body, "// Validate checks v against the model's constraints (required members,\n// lengths, patterns, enums, ranges) and returns an EINVALID\n// *openrunner.Error listing every violation, or nil.\n")
		fmt.Fprintf(&body, "func (v *%s) Validate() error {\n", name)
		if !g.checks[op.Input.Shape] {
			body.WriteString("return nil\n}\n\n")
			continue
		}
		fmt.Fprintf(&body, "if v == nil {\nv = new(%s)\n}\nvar vd codec.Validator\nv.validate(&vd, nil)\nreturn vd.Err()\n}\n\n", name)
	}

	var vars bytes.Buffer
	for _, v := range g.reVars {
		if g.usedPattern(v.name) {
			fmt.Fprintf(&vars, "%s = regexp.MustCompile(%s)\n", v.name, goString(v.re))
		}
	}
	code := body.Bytes()
	if vars.Len() > 0 {
		code = slices.Concat([]byte("// Model patterns, compiled once and matched in full (^(?:pattern)$).\nvar (\n"), vars.Bytes(), []byte(")\n\n"), code)
	}

	w.Write(code)
	return nil
}

// usedPattern reports whether a regexp variable is used by a shape
// reachable from an input.
func (g *gen) usedPattern(v string) bool {
	for s, name := range g.pattern {
		if name == v && g.reach[s] {
			return true
		}
	}
	return false
}

func (g *gen) validateString(w *bytes.Buffer, s *shape) {
	const str = "s"
	if isEnum(s) {
		// Checks work on s, a string; the enum switch on v.
		fmt.Fprintf(w, "func validate%s(vd *codec.Validator, p *codec.Path, v %s) {\n", s.name, g.goName[s.name])
		if minOf(s) > 0 || s.Max != nil || s.Pattern != nil {
			w.WriteString("s := string(v)\n")
		}
	} else {
		fmt.Fprintf(w, "func validate%s(vd *codec.Validator, p *codec.Path, s string) {\n", s.name)
	}
	if minOf(s) > 0 || s.Max != nil {
		max := int64(-1)
		if s.Max != nil {
			max = *s.Max
		}
		fmt.Fprintf(w, "vd.StrLen(p, %s, %t, %d, %d)\n", str, s.Sensitive, minOf(s), max)
	}
	if s.Pattern != nil {
		o, hasOverride := g.overrides[s.name]
		var cond []string
		if v := g.pattern[s.name]; v != "" {
			cond = append(cond, v+".MatchString("+str+")")
		}
		if f, ok := g.fast[s.name]; ok {
			fmt.Fprintf(w, "// Full match of %s, without the regexp engine: . matches anything but a newline.\n", f)
			cond = append(cond, fastPatterns[f].cond)
		}
		if hasOverride {
			for _, line := range wrap(o.why, 74) {
				fmt.Fprintf(w, "// %s\n", line)
			}
			if o.cond != "" {
				cond = append([]string{o.cond}, cond...)
			}
		}
		if len(cond) > 0 {
			test := "!" + cond[0]
			if len(cond) > 1 || !strings.HasSuffix(cond[0], ".MatchString(s)") {
				test = "!(" + strings.Join(cond, " && ") + ")"
			}
			fmt.Fprintf(w, "if %s {\nvd.Pattern(p, %s, %t, %s)\n}\n", test, str, s.Sensitive, goString(*s.Pattern))
		}
	}
	if isEnum(s) {
		w.WriteString("switch v {\ncase ")
		for i, v := range s.Enum {
			if i > 0 {
				w.WriteString(", ")
			}
			w.WriteString(enumConst(g.goName[s.name], v))
		}
		fmt.Fprintf(w, ":\ndefault:\nvd.Enum(p, string(v), %t, %s)\n}\n", s.Sensitive, strconv.Quote("["+strings.Join(s.Enum, ", ")+"]"))
	}
	w.WriteString("}\n\n")
}

// sizeBounds returns the min and max arguments of Validator.Size, and
// whether there is any bound.
func sizeBounds(s *shape) (int64, int64, bool) {
	max := int64(-1)
	if s.Max != nil {
		max = *s.Max
	}
	return minOf(s), max, s.Min != nil || s.Max != nil
}

func (g *gen) validateList(w *bytes.Buffer, s *shape) {
	el := g.shape(s.Member.Shape)
	fmt.Fprintf(w, "func validate%s(vd *codec.Validator, p *codec.Path, l %s) {\n", s.name, g.valueType(s.name))
	if min, max, ok := sizeBounds(s); ok {
		show := "func() string { return codec.ShowCount(len(l), \"[\", \"]\") }"
		if el.Type == "string" {
			show = fmt.Sprintf("func() string { return codec.ShowStrings(l, %t) }", el.Sensitive)
		}
		fmt.Fprintf(w, "vd.Size(p, len(l), %d, %d, %s)\n", min, max, show)
	}
	if g.checks[el.name] {
		w.WriteString("for i := range l {\ne := codec.Path{Parent: p, Kind: codec.SegIndex, Index: i}\n")
		if el.Type == "structure" {
			w.WriteString("l[i].validate(vd, &e)\n")
		} else {
			fmt.Fprintf(w, "validate%s(vd, &e, l[i])\n", el.name)
		}
		w.WriteString("}\n")
	}
	w.WriteString("}\n\n")
}

func (g *gen) validateMap(w *bytes.Buffer, s *shape) {
	k, v := g.shape(s.Key.Shape), g.shape(s.Value.Shape)
	fmt.Fprintf(w, "func validate%s(vd *codec.Validator, p *codec.Path, m %s) {\n", s.name, g.valueType(s.name))
	if min, max, ok := sizeBounds(s); ok {
		fmt.Fprintf(w, "vd.Size(p, len(m), %d, %d, func() string { return codec.ShowCount(len(m), \"{\", \"}\") })\n", min, max)
	}
	if g.checks[k.name] || g.checks[v.name] {
		w.WriteString("// Sorted, so that violations are reported in a stable order.\n")
		fmt.Fprintf(w, "for _, k := range codec.SortedKeys(m) {\ne := codec.Path{Parent: p, Kind: codec.SegKey, Key: k, Sensitive: %t}\n", k.Sensitive)
		if g.checks[k.name] {
			fmt.Fprintf(w, "validate%s(vd, &e, k)\n", k.name)
		}
		if g.checks[v.name] {
			fmt.Fprintf(w, "validate%s(vd, &e, m[k])\n", v.name)
		}
		w.WriteString("}\n")
	}
	w.WriteString("}\n\n")
}

func (g *gen) validateStruct(w *bytes.Buffer, s *shape) {
	fmt.Fprintf(w, "func (v *%s) validate(vd *codec.Validator, parent *codec.Path) {\n", g.goName[s.name])
	for _, m := range s.Members {
		t := g.shape(m.Shape)
		required := slices.Contains(s.Required, m.Name)
		checks := g.checks[t.name]
		if !required && !checks {
			continue
		}
		newPath := fmt.Sprintf("p := codec.Path{Parent: parent, Name: %s}\n", strconv.Quote(m.Name))
		var check string
		if checks {
			switch t.Type {
			case "structure":
				check = fmt.Sprintf("v.%s.validate(vd, &p)\n", m.Name)
			case "list", "map", "blob":
				check = fmt.Sprintf("validate%s(vd, &p, v.%s)\n", t.name, m.Name)
			default:
				check = fmt.Sprintf("validate%s(vd, &p, *v.%s)\n", t.name, m.Name)
			}
		}
		switch {
		case required && checks:
			fmt.Fprintf(w, "{\n%sif v.%s == nil {\nvd.Required(&p)\n} else {\n%s}\n}\n", newPath, m.Name, check)
		case required:
			fmt.Fprintf(w, "if v.%s == nil {\n%svd.Required(&p)\n}\n", m.Name, newPath)
		default:
			fmt.Fprintf(w, "if v.%s != nil {\n%s%s}\n", m.Name, newPath, check)
		}
	}
	w.WriteString("}\n\n")
}

// wrap splits text into lines of at most width bytes, at spaces.
func wrap(text string, width int) []string {
	var lines []string
	line := ""
	for _, word := range strings.Fields(text) {
		if line != "" && len(line)+1+len(word) > width {
			lines = append(lines, line)
			line = ""
		}
		if line != "" {
			line += " "
		}
		line += word
	}
	if line != "" {
		lines = append(lines, line)
	}
	return lines
}
