package fuzzapi

import (
	"bytes"
	"encoding/json"
	"testing"
	"unicode/utf8"
)

// TestGenerator: a seed gives one sequence; the requests cover every
// operation and kind, both signing failures, valid and invalid JSON,
// invalid UTF-8 and bodies over the size limit.
func TestGenerator(t *testing.T) {
	m, err := LoadModel("../../wire/model/apprunner-2020-05-15.json")
	if err != nil {
		t.Fatal(err)
	}
	a, b := NewGenerator(m, 7), NewGenerator(m, 7)
	ops, kinds, auths := map[string]bool{}, map[Kind]bool{}, map[string]bool{}
	var valid, invalid, badUTF8, over int
	for range 5000 {
		ra, rb := a.Next(), b.Next()
		if ra.Op != rb.Op || !bytes.Equal(ra.Body, rb.Body) || ra.Auth != rb.Auth {
			t.Fatal("one seed gave two sequences")
		}
		ops[ra.Op], kinds[ra.Kind], auths[ra.Auth] = true, true, true
		if json.Valid(ra.Body) {
			valid++
		} else {
			invalid++
		}
		if !utf8.Valid(ra.Body) {
			badUTF8++
		}
		if len(ra.Body) > a.MaxBody {
			over++
		}
	}
	for _, op := range m.OperationNames() {
		if !ops[op] {
			t.Errorf("%s never generated", op)
		}
	}
	if len(kinds) != int(numKinds) || len(auths) != 3 || valid < 500 || invalid < 500 || badUTF8 < 100 || over < 10 {
		t.Errorf("kinds %v, auths %v, %d valid JSON, %d invalid, %d invalid UTF-8, %d over the limit", kinds, auths, valid, invalid, badUTF8, over)
	}
}
