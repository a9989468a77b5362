package main

import (
	"bytes"
	"fmt"
	"slices"
	"strconv"
)

func (g *gen) genJSON(w *bytes.Buffer) error {
	for _, s := range g.shapes {
		name, ok := g.goName[s.name]
		if !ok || s.Type != "structure" {
			continue
		}
		// Encoding.
		fmt.Fprintf(w, "// MarshalJSON implements json.Marshaler: nil members are omitted, except\n// required lists and maps, written as empty.\n")
		fmt.Fprintf(w, "func (v %s) MarshalJSON() ([]byte, error) { return v.AppendJSON(make([]byte, 0, 256)), nil }\n\n", name)
		fmt.Fprintf(w, "// AppendJSON appends v's JSON encoding, as MarshalJSON writes it, to b.\n// It is MarshalJSON without the copy and re-validation json.Marshal does.\n")
		fmt.Fprintf(w, "func (v *%s) AppendJSON(b []byte) []byte {\nb = append(b, '{')\n", name)
		if len(s.Members) > 0 {
			w.WriteString("n := len(b)\n")
		}
		for _, m := range s.Members {
			t := g.shape(m.Shape)
			required := slices.Contains(s.Required, m.Name)
			always := required && (t.Type == "list" || t.Type == "map")
			if !always {
				fmt.Fprintf(w, "if v.%s != nil {\n", m.Name)
			}
			fmt.Fprintf(w, "b = codec.AppendSep(b, n)\nb = append(b, %s...)\n", goString(strconv.Quote(m.Name)+":"))
			f := "v." + m.Name
			switch t.Type {
			case "string":
				if isEnum(t) {
					fmt.Fprintf(w, "b = codec.AppendString(b, string(*%s))\n", f)
				} else {
					fmt.Fprintf(w, "b = codec.AppendString(b, *%s)\n", f)
				}
			case "integer":
				fmt.Fprintf(w, "b = strconv.AppendInt(b, int64(*%s), 10)\n", f)
			case "long":
				fmt.Fprintf(w, "b = strconv.AppendInt(b, *%s, 10)\n", f)
			case "blob":
				fmt.Fprintf(w, "b = codec.AppendBlob(b, %s)\n", f)
			case "boolean":
				fmt.Fprintf(w, "b = strconv.AppendBool(b, *%s)\n", f)
			case "timestamp":
				fmt.Fprintf(w, "b = codec.AppendTimestamp(b, *%s)\n", f)
			case "structure":
				fmt.Fprintf(w, "b = %s.AppendJSON(b)\n", f)
			case "list":
				if g.shape(t.Member.Shape).Type == "structure" {
					fmt.Fprintf(w, "b = codec.AppendStructList(b, %s)\n", f)
				} else {
					fmt.Fprintf(w, "b = codec.AppendStringList(b, %s)\n", f)
				}
			case "map":
				if g.shape(t.Value.Shape).Type == "list" {
					fmt.Fprintf(w, "b = codec.AppendStringListMap(b, %s)\n", f)
				} else {
					fmt.Fprintf(w, "b = codec.AppendStringMap(b, %s)\n", f)
				}
			}
			if !always {
				w.WriteString("}\n")
			}
		}
		w.WriteString("return append(b, '}')\n}\n\n")

		// Decoding.
		fmt.Fprintf(w, "// UnmarshalJSON implements json.Unmarshaler with the rules of Dispatch:\n// exact member names, null as absent, unknown members ignored.\n")
		fmt.Fprintf(w, "func (v *%s) UnmarshalJSON(data []byte) error {\nd := codec.NewDecoder(data)\nif d.Null() {\nreturn d.Finish()\n}\nvar x %s\nx.decode(&d, nil)\nif err := d.Finish(); err != nil {\nreturn err\n}\n*v = x\nreturn nil\n}\n\n", name, name)
		fmt.Fprintf(w, "func (v *%s) decode(d *codec.Decoder, parent *codec.Path) {\nif !d.OpenObject(parent) {\nreturn\n}\n", name)
		w.WriteString("for first := true; ; first = false {\n")
		if len(s.Members) == 0 {
			w.WriteString("if _, ok := d.NextKey(first); !ok {\nreturn\n}\nd.Skip()\n}\n}\n\n")
			continue
		}
		w.WriteString("key, ok := d.NextKey(first)\nif !ok {\nreturn\n}\nswitch string(key) {\n")
		for _, m := range s.Members {
			t := g.shape(m.Shape)
			fmt.Fprintf(w, "case %s:\np := codec.Path{Parent: parent, Name: %s}\n", strconv.Quote(m.Name), strconv.Quote(m.Name))
			f := "v." + m.Name
			switch t.Type {
			case "string":
				if isEnum(t) {
					fmt.Fprintf(w, "%s = nil\nif !d.Null() {\nif s, ok := d.Str(&p); ok {\ne := %s(s)\n%s = &e\n}\n}\n", f, g.goName[t.name], f)
				} else {
					fmt.Fprintf(w, "%s = d.StringPtr(&p)\n", f)
				}
			case "integer":
				fmt.Fprintf(w, "%s = d.Int32Ptr(&p)\n", f)
			case "long":
				fmt.Fprintf(w, "%s = d.Int64Ptr(&p)\n", f)
			case "blob":
				fmt.Fprintf(w, "%s = d.Blob(&p)\n", f)
			case "boolean":
				fmt.Fprintf(w, "%s = d.BoolPtr(&p)\n", f)
			case "timestamp":
				fmt.Fprintf(w, "%s = d.TimestampPtr(&p)\n", f)
			case "structure":
				fmt.Fprintf(w, "%s = nil\nif !d.Null() {\n%s = new(%s)\n%s.decode(d, &p)\n}\n", f, f, g.goName[t.name], f)
			case "list", "map":
				fmt.Fprintf(w, "%s = decode%s(d, &p)\n", f, t.name)
			}
		}
		w.WriteString("default:\nd.Skip()\n}\n}\n}\n\n")
	}
	// Lists and maps, one function per shape rather than generic helpers:
	// generic calls go through a dictionary, which defeats escape analysis
	// and would move every path segment to the heap.
	for _, s := range g.shapes {
		switch s.Type {
		case "list":
			el := g.shape(s.Member.Shape)
			typ := g.valueType(el.name)
			fmt.Fprintf(w, "// decode%s reads member p's array; null is nil, [] is a non-nil\n// empty slice, and a null element is an error.\n", s.name)
			fmt.Fprintf(w, "func decode%s(d *codec.Decoder, p *codec.Path) []%s {\n", s.name, typ)
			fmt.Fprintf(w, "if d.Null() || !d.OpenArray(p) {\nreturn nil\n}\nl := make([]%s, 0, 4)\n", typ)
			w.WriteString("for i := 0; d.NextElem(i == 0); i++ {\ne := codec.Path{Parent: p, Kind: codec.SegIndex, Index: i}\n")
			if el.Type == "structure" {
				fmt.Fprintf(w, "l = append(l, %s{})\nl[i].decode(d, &e)\n", typ)
			} else {
				fmt.Fprintf(w, "s, ok := d.Str(&e)\nif !ok {\nreturn nil\n}\nl = append(l, %s)\n", conv(typ, "s"))
			}
			w.WriteString("}\nif d.Failed() {\nreturn nil\n}\nreturn l\n}\n\n")
		case "map":
			typ := g.valueType(s.Value.Shape)
			fmt.Fprintf(w, "// decode%s reads member p's object; null is nil, {} is a non-nil\n// empty map, and the last of duplicate keys wins.\n", s.name)
			fmt.Fprintf(w, "func decode%s(d *codec.Decoder, p *codec.Path) map[string]%s {\n", s.name, typ)
			fmt.Fprintf(w, "if d.Null() || !d.OpenObject(p) {\nreturn nil\n}\nm := make(map[string]%s)\n", typ)
			w.WriteString("for first := true; ; first = false {\nk, ok := d.NextKey(first)\nif !ok {\nbreak\n}\n")
			fmt.Fprintf(w, "key := string(k)\ne := codec.Path{Parent: p, Kind: codec.SegKey, Key: key, Sensitive: %t}\n", g.shape(s.Key.Shape).Sensitive)
			if v := g.shape(s.Value.Shape); v.Type == "list" {
				fmt.Fprintf(w, "m[key] = decode%s(d, &e)\nif d.Failed() {\nreturn nil\n}\n}\n", v.name)
			} else {
				fmt.Fprintf(w, "s, ok := d.Str(&e)\nif !ok {\nreturn nil\n}\nm[key] = %s\n}\n", conv(typ, "s"))
			}
			w.WriteString("if d.Failed() {\nreturn nil\n}\nreturn m\n}\n\n")
		}
	}
	return nil
}
