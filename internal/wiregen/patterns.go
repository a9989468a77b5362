package main

import "strings"

// patternOverride replaces a model pattern that Go's RE2 engine cannot
// compile by an equivalent check: the value must match re in full (if re is
// set) and satisfy the Go condition cond on s (if set). With neither, the
// pattern is not enforced at all. Error messages still quote the model's
// pattern.
type patternOverride struct {
	model string // the pattern the override was written for
	re    string
	cond  string
	why   string // emitted as a comment on the generated check
}

// patternOverrides is keyed by shape name. Each entry records the model
// pattern it was written for: if the model's pattern changes, generation
// fails until the entry is reviewed.
var patternOverrides = map[string]patternOverride{
	"TagKey": {
		model: `^(?!aws:).+`,
		re:    `.+`,
		cond:  `!strings.HasPrefix(s, "aws:")`,
		why: "The model pattern ^(?!aws:).+ starts with a negative lookahead, which RE2 lacks. " +
			"Equivalent check: the key does not start with \"aws:\" and matches .+ (non-empty, no newline).",
	},
	"ImageIdentifier": {
		model: `([0-9]{12}.dkr.ecr.[a-z\-]+-[0-9]{1}.amazonaws.com\/((?:[a-z0-9]+(?:[._-][a-z0-9]+)*\/)*[a-z0-9]+(?:[._-][a-z0-9]+)*)(:([\w\d+\-=._:\/@])+|@([\w\d\:]+))?)|(^public\.ecr\.aws\/.+\/((?:[a-z0-9]+(?:[._-][a-z0-9]+)*\/)*[a-z0-9]+(?:[._-][a-z0-9]+)*)(:([\w\d+\-=._:\/@])+|@([\w\d\:]+))?)`,
		why: "The model pattern only admits Amazon ECR and ECR Public image references. " +
			"OpenRunner deliberately accepts any OCI image reference (a documented extension), " +
			"so the pattern is not enforced; the length limits still apply.",
	},
	"AppRunnerResourceArn": {
		model: `arn:aws(-[\w]+)*:[a-z0-9-\\.]{0,63}:[a-z0-9-\\.]{0,63}:[0-9]{12}:(\w|\/|-){1,1011}`,
		re:    `arn:aws(-[\w]+)*:[a-z0-9-\\.]{0,63}:[a-z0-9-\\.]{0,63}:[0-9]{12}:(\w|\/|-)+`,
		cond:  `len(s)-strings.LastIndexByte(s, ':')-1 <= 1011`,
		why: "RE2 limits counted repetition to 1000, and the model's resource part is (\\w|\\/|-){1,1011}. " +
			"Equivalent check: the resource part matches (\\w|\\/|-)+ and has at most 1011 characters; " +
			"it is everything after the last ':', since no earlier part of the pattern can match a ':' after the account id.",
	},
}

// overridesByPackage holds each generated package's pattern overrides,
// since shape names are only unique within one model.
var overridesByPackage = map[string]map[string]patternOverride{"wire": patternOverrides}

// fastPattern is a pattern whose full match has an exact, much cheaper
// equivalent than running the regexp engine: Go's . matches any character
// but a newline (an invalid UTF-8 byte counts as U+FFFD, which it matches).
// These patterns are on most free-text members (shape String, TagValue,
// NextToken, environment variables, up to 51,200 characters), so the
// shortcut matters. cond is the Go source emitted; fn is the same check for
// the generator's tests, which compare it with the regexp.
type fastPattern struct {
	cond string
	fn   func(string) bool
}

var fastPatterns = map[string]fastPattern{
	`.*`: {`strings.IndexByte(s, '\n') < 0`, func(s string) bool { return strings.IndexByte(s, '\n') < 0 }},
	`.+`: {`s != "" && strings.IndexByte(s, '\n') < 0`, func(s string) bool { return s != "" && strings.IndexByte(s, '\n') < 0 }},
}
