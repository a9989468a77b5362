package wire

import (
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"

	"github.com/openrunner/openrunner"
	"github.com/openrunner/openrunner/wire/internal/codec"
)

// matches reports whether check finds no pattern violation in s.
func matches(check func(*codec.Validator, *codec.Path, string), s string) bool {
	var vd codec.Validator
	check(&vd, &codec.Path{Name: "X"}, s)
	return !strings.Contains(openrunner.ErrorMessage(vd.Err()), "regular expression pattern")
}

// TestPattern_AppRunnerResourceArn compares the override of the ARN
// pattern, whose {1,1011} RE2 cannot compile, with an RE2 pattern that
// expresses the same repetition as {1,1000}{0,11}.
func TestPattern_AppRunnerResourceArn(t *testing.T) {
	ref := regexp.MustCompile(`^(?:arn:aws(-[\w]+)*:[a-z0-9-\\.]{0,63}:[a-z0-9-\\.]{0,63}:[0-9]{12}:(?:(\w|\/|-){1,1000}(\w|\/|-){0,11}))$`)
	prefixes := []string{
		"arn:aws:apprunner:us-east-1:123456789012:",
		"arn:aws-cn:apprunner:cn-north-1:123456789012:",
		"arn:aws-us-gov-x:a\\b.c:r:123456789012:",
		"arn:aws::::123456789012:",
		"arn:aws:apprunner:us-east-1:12345678901:",
		"arn:aws:apprunner:us-east-1:123456789012",
		"arn:aws:apprunner:us-east-1:123456789012::",
		"arn:aws:Apprunner:us-east-1:123456789012:",
		"arn:awsx:apprunner:us-east-1:123456789012:",
	}
	alphabet := []string{"a", "Z", "0", "_", "/", "-", ":", ".", "é", "\n", " "}
	r := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 3000; i++ {
		var b strings.Builder
		b.WriteString(prefixes[r.IntN(len(prefixes))])
		n := r.IntN(40)
		if r.IntN(4) == 0 {
			n = 1000 + r.IntN(20)
		}
		for range n {
			if r.IntN(50) == 0 {
				b.WriteString(alphabet[r.IntN(len(alphabet))])
			} else {
				b.WriteString(alphabet[r.IntN(6)])
			}
		}
		s := b.String()
		if got, want := matches(validateAppRunnerResourceArn, s), ref.MatchString(s); got != want {
			t.Fatalf("override says %v, reference %v, for %q", got, want, s)
		}
	}
	for _, n := range []int{0, 1, 1011, 1012} {
		s := prefixes[0] + strings.Repeat("a", n)
		if got, want := matches(validateAppRunnerResourceArn, s), n >= 1 && n <= 1011; got != want {
			t.Errorf("resource part of %d characters: match=%v, want %v", n, got, want)
		}
	}
}

func TestPattern_TagKey(t *testing.T) {
	for s, want := range map[string]bool{
		"team": true, "aws": true, "aws-x": true, "AWS:x": true, "x aws:": true, " aws:": true, "é": true,
		"aws:": false, "aws:team": false, "": false, "a\nb": false, "\n": false,
	} {
		if got := matches(validateTagKey, s); got != want {
			t.Errorf("TagKey %q: match=%v, want %v", s, got, want)
		}
	}
}

func TestPattern_ImageIdentifierNotEnforced(t *testing.T) {
	for _, s := range []string{
		"123456789012.dkr.ecr.us-east-1.amazonaws.com/app:v1",
		"public.ecr.aws/nginx/nginx:latest",
		"nginx", "ghcr.io/owner/app@sha256:0123", "localhost:5000/x/y:z", "not an image\n",
	} {
		if !matches(validateImageIdentifier, s) {
			t.Errorf("ImageIdentifier %q rejected", s)
		}
	}
}

// TestPattern_FullMatch checks that patterns are anchored at both ends.
func TestPattern_FullMatch(t *testing.T) {
	for _, tc := range []struct {
		check func(*codec.Validator, *codec.Path, string)
		s     string
		want  bool
	}{
		{validateCpu, "1 vCPU", true},
		{validateCpu, "1024", true},
		{validateCpu, "10240", false},
		{validateCpu, "x1024", false},
		{validateCpu, "1 vCPUs", false},
		{validateMemory, "12 GB", true},
		{validateMemory, "12288", true},
		{validateMemory, "122880", false},
		{validateServiceName, "abcd", true},
		{validateServiceName, "abcd\n", false},
		{validateSourceDirectory, "a\x00b", false},
		{validateString, "", true},
		{validateString, "a\rb\u2028", true},
		{validateString, "a\nb", false},
		{validateNextToken, "\xff", true},
	} {
		if got := matches(tc.check, tc.s); got != tc.want {
			t.Errorf("%q: match=%v, want %v", tc.s, got, tc.want)
		}
	}
}
