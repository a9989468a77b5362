package main

import (
	"bytes"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

func (g *gen) genOperations(w *bytes.Buffer) error {

	fmt.Fprintf(w, "// %s is the %s API, one method per operation. Methods\n"+
		"// receive inputs that Dispatch has decoded and validated against the\n"+
		"// model, and return an *openrunner.Error for failures the caller may see.\n"+
		"type %s interface {\n", g.opts.iface, g.opts.apiName, g.opts.iface)
	for _, op := range g.ops {
		fmt.Fprintf(w, "// %s runs the %s operation.\n", op.Name, op.Name)
		fmt.Fprintf(w, "%s(ctx context.Context, in *%s) (*%s, error)\n", op.Name, g.goName[op.Input.Shape], g.goName[op.Output.Shape])
	}
	w.WriteString("}\n\n")

	fmt.Fprintf(w, "// Unimplemented implements %s with every operation failing with\n"+
		"// ENOTIMPLEMENTED. Services embed it and override the operations they\n"+
		"// implement, so that they keep compiling as operations are added.\n"+
		"type Unimplemented struct{}\n\nvar _ %s = Unimplemented{}\n\n", g.opts.iface, g.opts.iface)
	for _, op := range g.ops {
		fmt.Fprintf(w, "// %s fails with ENOTIMPLEMENTED.\n", op.Name)
		fmt.Fprintf(w, "func (Unimplemented) %s(context.Context, *%s) (*%s, error) {\n", op.Name, g.goName[op.Input.Shape], g.goName[op.Output.Shape])
		fmt.Fprintf(w, "return nil, openrunner.Errorf(openrunner.ENOTIMPLEMENTED, %s)\n}\n\n", strconv.Quote("OpenRunner does not implement "+op.Name+" yet."))
	}

	w.WriteString("// Dispatch runs operation op of svc on the JSON request body and returns\n" +
		"// the operation's output, a non-nil pointer to its output struct.\n" +
		"//\n" +
		"// An empty (or blank) body stands for {}. Dispatch returns\n" +
		"// ErrUnknownOperation if op is not an operation of the API (names are\n" +
		"// case-sensitive), a *DecodeError if body is not a JSON object of the\n" +
		"// input's shape, the EINVALID *openrunner.Error of the input's Validate,\n" +
		"// or the error the method returns. Dispatch does not retain body.\n" +
		"func Dispatch(ctx context.Context, svc " + g.opts.iface + ", op string, body []byte) (any, error) {\n" +
		"switch op {\n")
	for _, op := range g.ops {
		in, out := g.goName[op.Input.Shape], g.goName[op.Output.Shape]
		fmt.Fprintf(w, "case %q:\n", op.Name)
		fmt.Fprintf(w, "in := new(%s)\nd := codec.NewDecoder(body)\nif !d.Blank() {\nin.decode(&d, nil)\n}\n", in)
		w.WriteString("if err := d.Finish(); err != nil {\nreturn nil, err\n}\nif err := in.Validate(); err != nil {\nreturn nil, err\n}\n")
		fmt.Fprintf(w, "out, err := svc.%s(ctx, in)\nif err != nil {\nreturn nil, err\n}\nif out == nil {\nout = new(%s)\n}\nreturn out, nil\n", op.Name, out)
	}
	w.WriteString("}\nreturn nil, ErrUnknownOperation\n}\n\n")

	w.WriteString("// Operations lists the API's operations, sorted by name, with the\n// exceptions the model lists for each.\nvar Operations = []OperationInfo{\n")
	for _, op := range g.ops {
		var errs []string
		for _, e := range op.Errors {
			errs = append(errs, strconv.Quote(e.Shape))
		}
		sort.Strings(errs)
		fmt.Fprintf(w, "{Name: %q, Errors: []string{%s}},\n", op.Name, strings.Join(errs, ", "))
	}
	w.WriteString("}\n")
	return nil
}

// genCodec writes the package's names for package codec's types, which
// its callers use, and the helpers that go with the generated shapes.
func (g *gen) genCodec(w *bytes.Buffer) error {
	w.WriteString(`// Timestamp is a model timestamp: a JSON number of seconds since the
// Unix epoch on the wire.
type Timestamp = codec.Timestamp

// NewTimestamp returns a *Timestamp holding t, for filling timestamp members.
func NewTimestamp(t time.Time) *Timestamp { return codec.NewTimestamp(t) }

// DecodeError reports a request body that is not valid JSON or does not
// match the shape of the operation's input. Its Message is short, safe to
// show to the caller, and never echoes member values or Go type names.
type DecodeError = codec.DecodeError

// ErrUnknownOperation is returned by Dispatch for an operation name that is
// not one of the API's operations.
var ErrUnknownOperation = codec.ErrUnknownOperation

// OperationInfo describes one operation of the API.
type OperationInfo = codec.OperationInfo

// LookupOperation returns the OperationInfo of the operation named name
// (case-sensitive) and reports whether there is one.
func LookupOperation(name string) (OperationInfo, bool) {
i := sort.Search(len(Operations), func(i int) bool { return Operations[i].Name >= name })
if i < len(Operations) && Operations[i].Name == name {
return Operations[i], true
}
return OperationInfo{}, false
}

// Ptr returns a pointer to a copy of v, for filling the pointer members of
// the shapes.
func Ptr[T any](v T) *T { return &v }

// Deref returns *p, or the zero value of T if p is nil.
func Deref[T any](p *T) T {
if p == nil {
var zero T
return zero
}
return *p
}
`)
	return nil
}
