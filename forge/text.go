package forge

import (
	"encoding/json"
	"strings"
	"unicode"

	"github.com/openrunner/openrunner"
)

// Redacted is what a secret shows as.
const Redacted = "[REDACTED]"

// Name returns the provider's name as people read it, "GitHub" or
// "Bitbucket", for openrunner.ProviderGitHub or ProviderBitbucket in any
// case; any other value as it is.
func Name(provider string) string {
	switch {
	case strings.EqualFold(provider, openrunner.ProviderGitHub):
		return "GitHub"
	case strings.EqualFold(provider, openrunner.ProviderBitbucket):
		return "Bitbucket"
	}
	return provider
}

// Clean makes a provider-supplied text safe to store and show: it replaces
// every secret (of at least 4 characters) with Redacted, turns control
// characters into spaces, collapses white space and bounds the length.
func Clean(s string, secrets ...string) string {
	for _, v := range secrets {
		if len(v) >= 4 {
			s = strings.ReplaceAll(s, v, Redacted)
		}
	}
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
	s = strings.Join(strings.Fields(s), " ")
	return openrunner.Truncate(s, 300)
}

// Reason is Clean for a provider's explanation that goes inside
// OpenRunner's own sentence: without a final period, which the sentence
// adds.
func Reason(s string, secrets ...string) string {
	return strings.TrimRight(Clean(s, secrets...), ". ")
}

// Message extracts the human explanation from a provider's error body, in
// this order: an OAuth error_description; Bitbucket's
// {"error":{"message"}}; GitHub's {"message"}, followed by the messages
// (or codes) of its "errors" in parentheses; an OAuth {"error"} code. ""
// for anything else.
func Message(body []byte) string {
	var v struct {
		Message          string          `json:"message"`
		Error            json.RawMessage `json:"error"`
		ErrorDescription string          `json:"error_description"`
		Errors           json.RawMessage `json:"errors"`
	}
	if json.Unmarshal(body, &v) != nil {
		return ""
	}
	if v.ErrorDescription != "" {
		return v.ErrorDescription
	}
	var bb struct {
		Message string `json:"message"`
	}
	if json.Unmarshal(v.Error, &bb) == nil && bb.Message != "" {
		return bb.Message
	}
	if v.Message != "" {
		msg := v.Message
		var errs []struct {
			Message string `json:"message"`
			Code    string `json:"code"`
		}
		_ = json.Unmarshal(v.Errors, &errs)
		var details []string
		for _, e := range errs {
			if e.Message != "" {
				details = append(details, e.Message)
			} else if e.Code != "" {
				details = append(details, e.Code)
			}
		}
		if len(details) > 0 {
			msg += " (" + strings.Join(details, "; ") + ")"
		}
		return msg
	}
	var code string
	if json.Unmarshal(v.Error, &code) == nil {
		return code
	}
	return ""
}
