package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// testModel returns a minimal model: one operation Op whose input has the
// given members and extra shapes.
func testModel(members, shapes string) []byte {
	if shapes != "" {
		shapes = "," + shapes
	}
	return []byte(`{
 "version": "2.0",
 "metadata": {"protocol": "json"},
 "operations": {"Op": {"name": "Op", "http": {"method": "POST", "requestUri": "/"},
   "input": {"shape": "OpRequest"}, "output": {"shape": "OpResponse"}, "errors": [{"shape": "Bad"}]}},
 "shapes": {
  "OpRequest": {"type": "structure", "members": {` + members + `}},
  "OpResponse": {"type": "structure", "members": {}},
  "Bad": {"type": "structure", "members": {"Message": {"shape": "Str"}}, "exception": true},
  "Str": {"type": "string"}` + shapes + `
 }
}`)
}

func TestGenerate_FailsLoudly(t *testing.T) {
	for _, tc := range []struct {
		name, model, want string
	}{
		{"UncompilablePattern",
			string(testModel(`"A": {"shape": "Look"}`, `"Look": {"type": "string", "pattern": "(?<=a)b"}`)),
			`shape Look: pattern "(?<=a)b" cannot be compiled by Go's regexp`},
		{"OverrideForAnotherPattern",
			string(testModel(`"K": {"shape": "TagKey"}`, `"TagKey": {"type": "string", "pattern": "^(?!amazon:).+"}`)),
			"shape TagKey: pattern \"^(?!amazon:).+\" differs from the one its override in patternOverrides was written for"},
		{"UnknownTrait",
			string(testModel(`"T": {"shape": "Time"}`, `"Time": {"type": "timestamp", "timestampFormat": "iso8601"}`)),
			`unknown field "timestampFormat"`},
		{"UnsupportedType",
			string(testModel(`"D": {"shape": "Dbl"}`, `"Dbl": {"type": "double"}`)),
			`shape Dbl: shape type "double" is not supported`},
		{"Recursive",
			string(testModel(`"N": {"shape": "Node"}`, `"Node": {"type": "structure", "members": {"Next": {"shape": "Node"}}}`)),
			"recursive shapes are not supported"},
		{"IdentifierClash",
			string(testModel(`"E": {"shape": "Color"}`, `"Color": {"type": "string", "enum": ["RED", "red"]}`)),
			"Go identifier ColorRed is already used"},
		{"ReservedName",
			string(testModel(`"U": {"shape": "Unimplemented"}`, `"Unimplemented": {"type": "structure", "members": {}}`)),
			"Go identifier Unimplemented is already used by hand-written code"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := generate([]byte(tc.model))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err=%v, want it to contain %q", err, tc.want)
			}
		})
	}
}

// TestGenerate_Sizes checks the code generated for list and map size
// limits, which the App Runner model does not use.
func TestGenerate_Sizes(t *testing.T) {
	files, err := generate(testModel(
		`"L": {"shape": "Ids"}, "M": {"shape": "Attrs"}, "Tags": {"shape": "Pairs"}`,
		`"Ids": {"type": "list", "member": {"shape": "Id"}, "min": 1, "max": 5},
		 "Id": {"type": "string", "pattern": "[a-z]+"},
		 "Attrs": {"type": "map", "key": {"shape": "Str"}, "value": {"shape": "Str"}, "max": 10},
		 "Pairs": {"type": "list", "member": {"shape": "Pair"}, "max": 50},
		 "Pair": {"type": "structure", "members": {"K": {"shape": "Str"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	src := string(files["validate_gen.go"])
	for _, want := range []string{
		"vd.size(p, len(l), 1, 5, func() string { return showStrings(l, false) })",
		"validateId(vd, &e, l[i])",
		`vd.size(p, len(m), 0, 10, func() string { return showCount(len(m), "{", "}") })`,
		`vd.size(p, len(l), 0, 50, func() string { return showCount(len(l), "[", "]") })`,
	} {
		if !strings.Contains(src, want) {
			t.Errorf("validate_gen.go lacks %q:\n%s", want, src)
		}
	}
}

func TestGenerate_Deterministic(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "wire", "model", "apprunner-2020-05-15.json"))
	if err != nil {
		t.Fatal(err)
	}
	a, err := generate(data)
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		b, err := generate(data)
		if err != nil {
			t.Fatal(err)
		}
		for name := range a {
			if !bytes.Equal(a[name], b[name]) {
				t.Fatalf("%s differs between runs", name)
			}
		}
	}
	for name, src := range a {
		if !bytes.HasPrefix(src, []byte(header)) {
			t.Errorf("%s does not start with the generated-code header", name)
		}
	}
}

// TestFastPatterns checks each shortcut against the regexp it replaces.
func TestFastPatterns(t *testing.T) {
	inputs := []string{"", "a", "ab c", "\n", "a\n", "\na", "a\nb", "\r", "a\rb", "\u2028", "\u0085", "\x00", "\xff", "é😀", "\t\v\f"}
	for p, f := range fastPatterns {
		re := regexp.MustCompile("^(?:" + p + ")$")
		for _, s := range inputs {
			if got, want := f.fn(s), re.MatchString(s); got != want {
				t.Errorf("pattern %s, %q: shortcut says %v, regexp %v", p, s, got, want)
			}
		}
	}
}

func TestEnumConst(t *testing.T) {
	for _, tc := range []struct{ typ, value, want string }{
		{"ProviderType", "GITHUB", "ProviderTypeGithub"},
		{"ConnectionStatus", "PENDING_HANDSHAKE", "ConnectionStatusPendingHandshake"},
		{"Runtime", "NODEJS_12", "RuntimeNodejs12"},
		{"Runtime", "PYTHON_311", "RuntimePython311"},
		{"ImageRepositoryType", "ECR_PUBLIC", "ImageRepositoryTypeEcrPublic"},
	} {
		if got := enumConst(tc.typ, tc.value); got != tc.want {
			t.Errorf("enumConst(%s, %s)=%s, want %s", tc.typ, tc.value, got, tc.want)
		}
	}
}

// TestGenerate_OtherModels covers what App Runner's model lacks: another
// package and interface name, long and blob members, a map of lists and an
// operation without output, whose helpers only such packages get.
func TestGenerate_OtherModels(t *testing.T) {
	model := []byte(`{
 "version": "2.0",
 "metadata": {"protocol": "json"},
 "operations": {
  "Op": {"name": "Op", "http": {"method": "POST", "requestUri": "/"}, "input": {"shape": "OpRequest"}, "output": {"shape": "OpResponse"}},
  "Tag": {"name": "Tag", "http": {"method": "POST", "requestUri": "/"}, "input": {"shape": "TagRequest"}}
 },
 "shapes": {
  "OpRequest": {"type": "structure", "members": {"N": {"shape": "Long"}, "B": {"shape": "Blob"}, "T": {"shape": "Str", "idempotencyToken": true}}},
  "OpResponse": {"type": "structure", "members": {"M": {"shape": "Stages"}}},
  "TagRequest": {"type": "structure", "members": {}},
  "Stages": {"type": "map", "key": {"shape": "Str"}, "value": {"shape": "List"}},
  "List": {"type": "list", "member": {"shape": "Str"}},
  "Long": {"type": "long", "min": 7, "max": 30},
  "Blob": {"type": "blob", "min": 1, "sensitive": true},
  "Str": {"type": "string"}
 }
}`)
	files, err := generateWith(model, options{pkg: "other", iface: "Other", apiName: "Other"})
	if err != nil {
		t.Fatal(err)
	}
	// White space folded: gofmt aligns fields.
	all := strings.Join(strings.Fields(string(files["shapes_gen.go"])+string(files["json_gen.go"])+string(files["validate_gen.go"])+string(files["operations_gen.go"])), " ")
	for _, want := range []string{
		"package other",
		"N *int64 `json:\"N,omitempty\"`",
		"B []byte `json:\"B,omitempty\"`",
		"M map[string][]string `json:\"M,omitempty\"`",
		"type TagOutput struct",
		"Tag(ctx context.Context, in *TagInput) (*TagOutput, error)",
		"// Other is the Other API, one method per operation. Methods",
		"func Dispatch(ctx context.Context, svc Other, op string, body []byte) (any, error)",
		"func (d *decoder) int64Ptr(",
		"func appendBlob(",
		"func appendStringListMap(",
		`"encoding/base64"`,
		"func validateLong(vd *validator, p *pathSeg, v int64)",
		"vd.size(p, len(v), 1, -1,",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("generated code lacks %q", want)
		}
	}
	plain, err := generate(testModel(`"S": {"shape": "Str"}`, ""))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(plain["json_gen.go"], []byte("int64Ptr")) || bytes.Contains(plain["json_gen.go"], []byte("base64")) {
		t.Error("a model without longs or blobs got their helpers")
	}
}
