package fuzzapi

import (
	"math/rand/v2"
	"strconv"
	"strings"
)

// Kind is what a generated request tries.
type Kind int

// The kinds of generated requests.
const (
	Shaped    Kind = iota // the input shape, with hostile values
	WrongType             // the input shape with members of the wrong type
	Deep                  // nesting far beyond any shape's depth
	Huge                  // long strings and lists, some over the size limit
	Malformed             // a shaped body, truncated or with bytes flipped
	Random                // random bytes
	numKinds
)

var kindNames = [...]string{"shaped", "wrong-type", "deep", "huge", "malformed", "random"}

func (k Kind) String() string { return kindNames[k] }

// Request is one generated request.
type Request struct {
	Op   string // the operation named in X-Amz-Target
	Kind Kind
	Body []byte
	// Auth is how it is signed: "signed", "unsigned" or "bad-signature".
	Auth string
}

// Generator makes requests; one per goroutine (it holds a rand.Rand).
type Generator struct {
	m   *Model
	ops []string
	r   *rand.Rand
	// MaxBody is the server's body limit; Huge requests straddle it.
	MaxBody int
}

// NewGenerator returns a Generator whose sequence seed determines.
func NewGenerator(m *Model, seed uint64) *Generator {
	return &Generator{m: m, ops: m.OperationNames(), r: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), MaxBody: 1 << 20}
}

// Next returns the next request.
func (g *Generator) Next() Request {
	op := g.ops[g.r.IntN(len(g.ops))]
	req := Request{Op: op, Kind: Kind(g.r.IntN(int(numKinds))), Auth: "signed"}
	switch n := g.r.IntN(100); {
	case n < 4:
		req.Auth = "unsigned"
	case n < 8:
		req.Auth = "bad-signature"
	case n < 10:
		req.Op = g.pick([]string{"", "NoSuchOperation", strings.ToLower(op), op + " ", "\xff\xfe", strings.Repeat("X", 300)})
	}
	input := ""
	if in := g.m.Operations[op].Input; in != nil {
		input = in.Shape
	}
	switch req.Kind {
	case Shaped, WrongType:
		req.Body = g.value(nil, input, 0, req.Kind == WrongType)
	case Deep:
		req.Body = g.deep()
	case Huge:
		req.Body = g.huge(input)
	case Malformed:
		req.Body = g.malform(g.value(nil, input, 0, false))
	case Random:
		req.Body = make([]byte, g.r.IntN(512))
		for i := range req.Body {
			req.Body[i] = byte(g.r.UintN(256))
		}
	}
	return req
}

func (g *Generator) pick(s []string) string { return s[g.r.IntN(len(s))] }

// value appends a JSON value for shape; wrong makes some members the wrong
// type.
func (g *Generator) value(b []byte, shape string, depth int, wrong bool) []byte {
	s := g.m.Shapes[shape]
	if s == nil || (wrong && g.r.IntN(4) == 0) {
		return g.anyValue(b, depth)
	}
	switch s.Type {
	case "structure":
		return g.structure(b, s, depth, wrong)
	case "list":
		b = append(b, '[')
		for i := range g.r.IntN(4) {
			if i > 0 {
				b = append(b, ',')
			}
			b = g.value(b, s.Member.Shape, depth+1, wrong)
		}
		return append(b, ']')
	case "map":
		b = append(b, '{')
		for i := range g.r.IntN(4) {
			if i > 0 {
				b = append(b, ',')
			}
			b = g.str(b, nil)
			b = append(b, ':')
			b = g.value(b, s.Value.Shape, depth+1, wrong)
		}
		return append(b, '}')
	case "string":
		return g.str(b, s)
	case "integer", "long":
		return append(b, g.pick(numbers)...)
	case "boolean":
		return append(b, g.pick([]string{"true", "false"})...)
	case "timestamp":
		return append(b, g.pick([]string{"0", "1.7e9", "-1", "1e300", `"2026-01-01T00:00:00Z"`})...)
	}
	return g.anyValue(b, depth)
}

// structure appends an object with some of s's members (the required ones
// usually), sometimes an unknown member or a duplicate.
func (g *Generator) structure(b []byte, s *Shape, depth int, wrong bool) []byte {
	b = append(b, '{')
	n := 0
	member := func(name, shape string) {
		if n > 0 {
			b = append(b, ',')
		}
		n++
		b = strconv.AppendQuote(b, name)
		b = append(b, ':')
		b = g.value(b, shape, depth+1, wrong)
	}
	for _, name := range s.names {
		required := false
		for _, r := range s.Required {
			required = required || r == name
		}
		if (required && g.r.IntN(10) != 0) || g.r.IntN(3) == 0 {
			member(name, s.Members[name].Shape)
		}
	}
	switch g.r.IntN(10) {
	case 0:
		member("UnknownMember", "")
	case 1:
		if len(s.names) > 0 {
			name := s.names[g.r.IntN(len(s.names))]
			member(name, s.Members[name].Shape)
			member(name, s.Members[name].Shape)
		}
	}
	return append(b, '}')
}

var numbers = []string{"0", "1", "-1", "25", "2147483647", "2147483648", "-2147483649", "9223372036854775808",
	"1e400", "1.5", "-0", "1e-400", "00", "1E2", "123456789012345678901234567890"}

// strs are string values: valid-looking, empty, long, odd Unicode.
var strs = []string{"", "a", "my-service", "us-east-1", "GITHUB", "BITBUCKET", "IMAGE", "ECR_PUBLIC",
	"arn:aws:apprunner:us-east-1:000000000000:service/svc/0123456789abcdef0123456789abcdef",
	"arn:aws:apprunner:us-east-1:000000000000:connection/c/0123456789abcdef0123456789abcdef",
	"arn:aws:apprunner:eu-west-1:111111111111:autoscalingconfiguration/x/1/0123456789abcdef0123456789abcdef",
	"arn:aws:apprunner:us-east-1:000000000000:service/svc", "arn:", "public.ecr.aws/nginx/nginx:latest",
	"\u0000", "\u202e\u0645", "😀😀", "\\", "\"", "a\nb", "%00", "../../etc/passwd", "'; DROP TABLE services; --"}

// str appends a JSON string: one of the enum's values, a pool string, or
// raw bytes that are not valid UTF-8 or not valid JSON.
func (g *Generator) str(b []byte, s *Shape) []byte {
	switch n := g.r.IntN(20); {
	case s != nil && len(s.Enum) > 0 && n < 8:
		return strconv.AppendQuote(b, s.Enum[g.r.IntN(len(s.Enum))])
	case n == 0:
		return append(b, "\"\xff\xfe\xc3\""...) // invalid UTF-8
	case n == 1:
		return append(b, `"\ud800\udc00\udfff"`...) // a pair, then a lone surrogate
	case n == 2:
		return append(b, "\"tab\there\x01\x00\""...) // raw control bytes, a NUL
	case n == 3:
		return strconv.AppendQuote(b, strings.Repeat(g.pick([]string{"a", "é", "𝄞"}), g.r.IntN(3000)))
	case n == 4 && s != nil && s.Max != nil:
		return strconv.AppendQuote(b, strings.Repeat("x", int(*s.Max)+1))
	}
	return strconv.AppendQuote(b, g.pick(strs))
}

// anyValue appends a value of any JSON type.
func (g *Generator) anyValue(b []byte, depth int) []byte {
	switch g.r.IntN(6) {
	case 0:
		return append(b, "null"...)
	case 1:
		return append(b, g.pick(numbers)...)
	case 2:
		return g.str(b, nil)
	case 3:
		return append(b, g.pick([]string{"true", "false"})...)
	case 4:
		if depth < 8 {
			b = append(b, '[')
			b = g.anyValue(b, depth+1)
			return append(b, ']')
		}
	}
	return append(b, `{"a":1}`...)
}

// deep nests arrays and objects thousands deep, closed or not.
func (g *Generator) deep() []byte {
	n := 100 + g.r.IntN(20000)
	open, close := "[", "]"
	if g.r.IntN(2) == 0 {
		open, close = `{"a":`, "}"
	}
	b := []byte(strings.Repeat(open, n) + "1")
	if g.r.IntN(4) != 0 {
		b = append(b, strings.Repeat(close, n)...)
	}
	return b
}

// huge is a body of the shape with one long string, or a long list: one
// in eight over the size limit, one in eight just under it, the others up
// to 64 KiB.
func (g *Generator) huge(shape string) []byte {
	size := g.r.IntN(64 << 10)
	switch g.r.IntN(8) {
	case 0:
		size = g.MaxBody + g.r.IntN(g.MaxBody/4)
	case 1:
		size = g.MaxBody - 4096 - g.r.IntN(g.MaxBody/4)
	}
	if g.r.IntN(2) == 0 {
		return []byte(`{"Tags":[` + strings.Repeat(`{"Key":"k","Value":"v"},`, size/24) + `{"Key":"k","Value":"v"}]}`)
	}
	body := g.value(nil, shape, 0, false)
	if len(body) < 2 || body[0] != '{' {
		body = []byte("{}")
	}
	pad := `"ServiceName":"` + strings.Repeat("s", size) + `"`
	if len(body) > 2 {
		pad += ","
	}
	return append([]byte("{"+pad), body[1:]...)
}

// malform truncates b, flips a byte, or inserts a stray one.
func (g *Generator) malform(b []byte) []byte {
	if len(b) == 0 {
		return []byte("{")
	}
	i := g.r.IntN(len(b))
	switch g.r.IntN(3) {
	case 0:
		return b[:i]
	case 1:
		b[i] ^= byte(1 << g.r.IntN(8))
		return b
	}
	return append(b[:i:i], append([]byte{g.pick([]string{",", "}", "]", ":", "\"", "\\", "\x00"})[0]}, b[i:]...)...)
}
