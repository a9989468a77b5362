package codec

import (
	"testing"

	"github.com/openrunner/openrunner"
)

// TestValidator_Size covers list and map size limits. The App Runner model
// sets none, so the generator emits no call to Validator.Size today; this
// pins the messages it would produce.
func TestValidator_Size(t *testing.T) {
	list := []string{"sg-1", "sg-2", "sg-3"}
	var vd Validator
	p := Path{Name: "SecurityGroups"}
	vd.Size(&p, len(list), 1, 2, func() string { return ShowStrings(list, false) })
	vd.Size(&p, 0, 1, 2, func() string { return ShowStrings([]string{}, false) })
	m := Path{Name: "Tags"}
	vd.Size(&m, 3, 0, 1, func() string { return ShowCount(3, "[", "]") })
	vd.Size(&m, 1, 0, -1, func() string { t.Error("shown without a violation"); return "" })
	want := "3 validation errors detected: " +
		"Value '[sg-1, sg-2, sg-3]' at 'securityGroups' failed to satisfy constraint: Member must have length less than or equal to 2; " +
		"Value '[]' at 'securityGroups' failed to satisfy constraint: Member must have length greater than or equal to 1; " +
		"Value '[{...}, {...}, {...}]' at 'tags' failed to satisfy constraint: Member must have length less than or equal to 1"
	if got := openrunner.ErrorMessage(vd.Err()); got != want {
		t.Errorf("message=%q\nwant     %q", got, want)
	}
	if got, want := ShowStrings([]string{"a", "b"}, true), "'[***, ***]'"; got != want {
		t.Errorf("ShowStrings(sensitive)=%s, want %s", got, want)
	}
}
