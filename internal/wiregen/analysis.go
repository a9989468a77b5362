package main

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode"
)

type gen struct {
	opts     options
	m        *model
	shapes   []*shape // sorted by name
	ops      []*operation
	goName   map[string]string // struct and enum shapes → Go type name
	inputOp  map[string]string // input shape → operation
	outputOp map[string]string // output shape → operation
	reach    map[string]bool   // shapes reachable from an operation input
	checks   map[string]bool   // shapes (reachable from inputs) that have something to validate
	pattern  map[string]string // shape → pattern variable (patterns enforced with a regexp)
	fast     map[string]string // shape → its key in fastPatterns (patterns enforced without a regexp)
	reVars   []reVar
	// overrides are the pattern overrides of the package's model.
	overrides map[string]patternOverride
}

type reVar struct{ name, re string }

// reserved are the hand-written identifiers of package wire.
var reserved = []string{
	"Deref", "DecodeError", "Dispatch", "ErrUnknownOperation", "LookupOperation",
	"NewTimestamp", "OperationInfo", "Operations", "Ptr", "Timestamp", "Unimplemented",
}

// memberMethods are method names of the generated structs that a member
// (a field) must not shadow.
var memberMethods = []string{"AppendJSON", "MarshalJSON", "UnmarshalJSON", "Validate"}

var (
	exportedIdent = regexp.MustCompile(`^[A-Z][A-Za-z0-9]*$`)
	memberName    = regexp.MustCompile(`^[A-Z][A-Za-z0-9_]*$`)
)

func newGen(m *model, opts options) (*gen, error) {
	g := &gen{opts: opts, overrides: overridesByPackage[opts.pkg], m: m, goName: map[string]string{}, inputOp: map[string]string{}, outputOp: map[string]string{},
		reach: map[string]bool{}, checks: map[string]bool{}, pattern: map[string]string{}, fast: map[string]string{}}
	for _, s := range m.Shapes {
		g.shapes = append(g.shapes, s)
	}
	sort.Slice(g.shapes, func(i, j int) bool { return g.shapes[i].name < g.shapes[j].name })
	for name, op := range m.Operations {
		if op.Name != name {
			return nil, fmt.Errorf("operation %s: name is %q", name, op.Name)
		}
		if !exportedIdent.MatchString(name) {
			return nil, fmt.Errorf("operation %s: not a Go identifier", name)
		}
		g.ops = append(g.ops, op)
		if op.Output == nil {
			// An operation without output (TagResource in Secrets Manager)
			// answers {}: an empty structure, named as the SDKs name it.
			name := op.Name + "Output"
			if _, ok := m.Shapes[name]; ok {
				return nil, fmt.Errorf("operation %s: no output, and shape %s exists", op.Name, name)
			}
			m.Shapes[name] = &shape{Type: "structure", name: name}
			g.shapes = append(g.shapes, m.Shapes[name])
			op.Output = &ref{Shape: name}
		}
	}
	sort.Slice(g.shapes, func(i, j int) bool { return g.shapes[i].name < g.shapes[j].name })
	sort.Slice(g.ops, func(i, j int) bool { return g.ops[i].Name < g.ops[j].Name })

	for _, s := range g.shapes {
		if err := g.checkShape(s); err != nil {
			return nil, fmt.Errorf("shape %s: %w", s.name, err)
		}
	}
	// Operation inputs and outputs are named as in aws-sdk-go-v2.
	for _, op := range g.ops {
		for _, io := range []struct {
			r      *ref
			suffix string
			byOp   map[string]string
		}{{op.Input, "Input", g.inputOp}, {op.Output, "Output", g.outputOp}} {
			if io.r == nil {
				return nil, fmt.Errorf("operation %s: no %s shape (not supported)", op.Name, strings.ToLower(io.suffix))
			}
			s := m.Shapes[io.r.Shape]
			if s == nil || s.Type != "structure" || s.Exception {
				return nil, fmt.Errorf("operation %s: %s shape %q is not a structure", op.Name, strings.ToLower(io.suffix), io.r.Shape)
			}
			if prev, ok := g.goName[s.name]; ok {
				return nil, fmt.Errorf("operation %s: shape %s is already the Go type %s (shared inputs/outputs are not supported)", op.Name, s.name, prev)
			}
			g.goName[s.name] = op.Name + io.suffix
			io.byOp[s.name] = op.Name
		}
		for _, e := range op.Errors {
			if s := m.Shapes[e.Shape]; s == nil || !s.Exception {
				return nil, fmt.Errorf("operation %s: error %q is not an exception shape", op.Name, e.Shape)
			}
		}
	}
	for _, s := range g.shapes {
		if _, ok := g.goName[s.name]; ok {
			continue
		}
		if (s.Type == "structure" && !s.Exception) || (s.Type == "string" && len(s.Enum) > 0) {
			g.goName[s.name] = s.name
		}
	}
	// Go identifiers must be valid and unique.
	idents := map[string]string{opts.iface: "hand-written code"}
	for _, r := range reserved {
		idents[r] = "hand-written code"
	}
	claim := func(id, what string) error {
		if !exportedIdent.MatchString(id) {
			return fmt.Errorf("%s: %q is not an exported Go identifier", what, id)
		}
		if prev, ok := idents[id]; ok {
			return fmt.Errorf("%s: Go identifier %s is already used by %s", what, id, prev)
		}
		idents[id] = what
		return nil
	}
	for _, s := range g.shapes {
		name, ok := g.goName[s.name]
		if !ok {
			continue
		}
		if err := claim(name, "shape "+s.name); err != nil {
			return nil, err
		}
		for _, v := range s.Enum {
			if err := claim(enumConst(name, v), fmt.Sprintf("enum value %s of shape %s", v, s.name)); err != nil {
				return nil, err
			}
		}
	}
	if err := g.checkAcyclic(); err != nil {
		return nil, err
	}
	for _, op := range g.ops {
		g.markReachable(op.Input.Shape)
	}
	for _, s := range g.shapes {
		if g.reach[s.name] {
			g.hasChecks(s.name)
		}
	}
	return g, nil
}

// checkShape rejects what the generator does not translate.
func (g *gen) checkShape(s *shape) error {
	target := func(r *ref, what string) (*shape, error) {
		if r == nil {
			return nil, fmt.Errorf("no %s", what)
		}
		t := g.m.Shapes[r.Shape]
		if t == nil {
			return nil, fmt.Errorf("%s: unknown shape %q", what, r.Shape)
		}
		if t.Exception {
			return nil, fmt.Errorf("%s: exception shape %s used as a value", what, t.name)
		}
		return t, nil
	}
	noExtra := func(ok bool, what string) error {
		if !ok {
			return fmt.Errorf("%s not supported on a %s shape", what, s.Type)
		}
		return nil
	}
	if err := noExtra(s.Type == "structure" || (len(s.Members) == 0 && s.Required == nil), "members/required"); err != nil {
		return err
	}
	if err := noExtra(s.Type == "list" || s.Member == nil, "member"); err != nil {
		return err
	}
	if err := noExtra(s.Type == "map" || (s.Key == nil && s.Value == nil), "key/value"); err != nil {
		return err
	}
	if err := noExtra(s.Type == "string" || (s.Pattern == nil && s.Enum == nil), "pattern/enum"); err != nil {
		return err
	}
	if err := noExtra(s.Type != "structure" && s.Type != "boolean" && s.Type != "timestamp" || (s.Min == nil && s.Max == nil), "min/max"); err != nil {
		return err
	}
	if err := noExtra(s.Type == "structure" || !s.Exception && !s.Fault && s.Error == nil, "exception"); err != nil {
		return err
	}
	switch s.Type {
	case "string", "integer", "long", "boolean", "timestamp", "blob":
	case "structure":
		seen := map[string]bool{}
		for _, m := range s.Members {
			// Exceptions are not Go types: SSM's have lowercase members.
			if !s.Exception && (!memberName.MatchString(m.Name) || slices.Contains(memberMethods, m.Name)) {
				return fmt.Errorf("member %s: not usable as a Go field name", m.Name)
			}
			if _, err := target(&ref{Shape: m.Shape}, "member "+m.Name); err != nil {
				return err
			}
			seen[m.Name] = true
		}
		for _, r := range s.Required {
			if !seen[r] {
				return fmt.Errorf("required member %s does not exist", r)
			}
		}
	case "list":
		t, err := target(s.Member, "member")
		if err != nil {
			return err
		}
		if t.Type != "string" && t.Type != "structure" {
			return fmt.Errorf("lists of %s are not supported", t.Type)
		}
	case "map":
		k, err := target(s.Key, "key")
		if err != nil {
			return err
		}
		if k.Type != "string" || len(k.Enum) > 0 {
			return errors.New("map keys must be plain strings")
		}
		v, err := target(s.Value, "value")
		if err != nil {
			return err
		}
		if v.Type != "string" && !(v.Type == "list" && g.m.Shapes[v.Member.Shape] != nil && g.m.Shapes[v.Member.Shape].Type == "string") {
			return fmt.Errorf("maps of %s are not supported", v.Type)
		}
	default:
		return fmt.Errorf("shape type %q is not supported", s.Type)
	}
	if s.Pattern != nil {
		if err := g.planPattern(s); err != nil {
			return err
		}
	}
	return nil
}

// planPattern decides how s's pattern is checked: a regexp compiled from it,
// or its override.
func (g *gen) planPattern(s *shape) error {
	p := *s.Pattern
	re := p
	if o, ok := g.overrides[s.name]; ok {
		if o.model != p {
			return fmt.Errorf("pattern %q differs from the one its override in patternOverrides was written for (%q): review the override", p, o.model)
		}
		if o.re == "" {
			return nil
		}
		re = o.re
	}
	full := "^(?:" + re + ")$"
	if _, err := regexp.Compile(full); err != nil {
		return fmt.Errorf("pattern %q cannot be compiled by Go's regexp (%v); add an equivalent check to patternOverrides in internal/wiregen", p, err)
	}
	if _, ok := fastPatterns[re]; ok {
		g.fast[s.name] = re
		return nil
	}
	for _, v := range g.reVars {
		if v.re == full {
			g.pattern[s.name] = v.name
			return nil
		}
	}
	name := "re" + s.name
	g.reVars = append(g.reVars, reVar{name: name, re: full})
	g.pattern[s.name] = name
	return nil
}

// checkAcyclic rejects recursive shapes: decoding and validation recurse
// along the shape graph, which must therefore be finite.
func (g *gen) checkAcyclic() error {
	const (
		unseen = iota
		active
		done
	)
	state := map[string]int{}
	var visit func(name string, path []string) error
	visit = func(name string, path []string) error {
		switch state[name] {
		case active:
			return fmt.Errorf("recursive shapes are not supported: %s", strings.Join(append(path, name), " → "))
		case done:
			return nil
		}
		state[name] = active
		for _, c := range g.children(g.m.Shapes[name]) {
			if err := visit(c, append(path, name)); err != nil {
				return err
			}
		}
		state[name] = done
		return nil
	}
	for _, s := range g.shapes {
		if err := visit(s.name, nil); err != nil {
			return err
		}
	}
	return nil
}

func (g *gen) children(s *shape) []string {
	var c []string
	for _, m := range s.Members {
		c = append(c, m.Shape)
	}
	for _, r := range []*ref{s.Member, s.Key, s.Value} {
		if r != nil {
			c = append(c, r.Shape)
		}
	}
	return c
}

func (g *gen) markReachable(name string) {
	if g.reach[name] {
		return
	}
	g.reach[name] = true
	for _, c := range g.children(g.m.Shapes[name]) {
		g.markReachable(c)
	}
}

// hasChecks reports whether a value of the shape can break a constraint.
func (g *gen) hasChecks(name string) bool {
	if c, ok := g.checks[name]; ok {
		return c
	}
	s := g.m.Shapes[name]
	c := false
	switch s.Type {
	case "string":
		c = minOf(s) > 0 || s.Max != nil || len(s.Enum) > 0 || g.pattern[name] != "" || g.fast[name] != "" || g.overrides[name].cond != ""
	case "integer", "long", "list", "map", "blob":
		c = s.Min != nil || s.Max != nil
	case "structure":
		c = len(s.Required) > 0
	}
	for _, ch := range g.children(s) {
		if g.hasChecks(ch) {
			c = true
		}
	}
	g.checks[name] = c
	return c
}

func minOf(s *shape) int64 {
	if s.Min == nil {
		return 0
	}
	return *s.Min
}

// enumConst names an enum value's constant as aws-sdk-go-v2 does:
// ProviderType + "GITHUB" → ProviderTypeGithub, "PENDING_HANDSHAKE" →
// PendingHandshake, "NODEJS_12" → Nodejs12.
func enumConst(typ, value string) string {
	var b strings.Builder
	b.WriteString(typ)
	for _, part := range strings.FieldsFunc(value, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
		rs := []rune(strings.ToLower(part))
		rs[0] = unicode.ToUpper(rs[0])
		b.WriteString(string(rs))
	}
	return b.String()
}

func (g *gen) shape(name string) *shape { return g.m.Shapes[name] }

// valueType is the Go type of a value of the shape (a list element, a map
// value, or what a member points to).
func (g *gen) valueType(name string) string {
	s := g.shape(name)
	switch s.Type {
	case "string":
		if len(s.Enum) > 0 {
			return g.goName[name]
		}
		return "string"
	case "integer":
		return "int32"
	case "long":
		return "int64"
	case "blob":
		return "[]byte"
	case "boolean":
		return "bool"
	case "timestamp":
		return "Timestamp"
	case "structure":
		return g.goName[name]
	case "list":
		return "[]" + g.valueType(s.Member.Shape)
	case "map":
		return "map[string]" + g.valueType(s.Value.Shape)
	}
	panic("unreachable: checked by checkShape")
}

// fieldType is the Go type of a member of the shape: a pointer, except for
// lists and maps.
func (g *gen) fieldType(name string) string {
	switch g.shape(name).Type {
	case "list", "map", "blob":
		return g.valueType(name)
	}
	return "*" + g.valueType(name)
}

func isEnum(s *shape) bool { return s.Type == "string" && len(s.Enum) > 0 }

// conv converts the string expression x to type typ.
func conv(typ, x string) string {
	if typ == "string" {
		return x
	}
	return typ + "(" + x + ")"
}

// goString quotes s as a Go string literal, raw when possible.
func goString(s string) string {
	if !strings.ContainsAny(s, "`\r") && strconv.CanBackquote(s) {
		return "`" + s + "`"
	}
	return strconv.Quote(s)
}
