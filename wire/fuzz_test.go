package wire

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/openrunner/openrunner"
)

// FuzzDispatch checks that Dispatch never panics, that every error is one
// of the documented kinds, that whatever decodes was valid JSON, and that a
// valid decoded input survives MarshalJSON and decoding again unchanged.
// Seeds are in testdata/fuzz/FuzzDispatch; every operation also gets {}.
func FuzzDispatch(f *testing.F) {
	for _, op := range Operations {
		f.Add(op.Name, []byte("{}"))
	}
	api := reflect.TypeFor[AppRunner]()
	f.Fuzz(func(t *testing.T, op string, body []byte) {
		checkSyntax(t, body)
		out, err := Dispatch(context.Background(), Unimplemented{}, op, body)
		if out != nil || err == nil {
			t.Fatalf("Dispatch=%v, %v; Unimplemented must fail", out, err)
		}
		_, known := LookupOperation(op)
		var de *DecodeError
		var oe *openrunner.Error
		switch {
		case errors.Is(err, ErrUnknownOperation):
			if known {
				t.Fatalf("ErrUnknownOperation for operation %q", op)
			}
			return
		case errors.As(err, &de):
			if !strings.HasPrefix(de.Message, "Unable to parse request body: ") || len(de.Message) > 300 || strings.Contains(de.Message, "wire.") || strings.Contains(de.Message, "int32") {
				t.Fatalf("DecodeError message %q", de.Message)
			}
			return
		case errors.As(err, &oe) && (oe.Code == openrunner.EINVALID || oe.Code == openrunner.ENOTIMPLEMENTED):
		default:
			t.Fatalf("Dispatch error %v (%T) is not ErrUnknownOperation, *DecodeError, EINVALID or ENOTIMPLEMENTED", err, err)
		}
		// The body decoded.
		if !known {
			t.Fatalf("operation %q is not in Operations", op)
		}
		blank := len(bytes.TrimLeft(body, " \t\r\n")) == 0
		if !blank && !json.Valid(body) {
			t.Fatalf("decoded a body that is not valid JSON: %q", body)
		}
		m, _ := api.MethodByName(op)
		newInput := func() input { return reflect.New(m.Type.In(1).Elem()).Interface().(input) }
		in := newInput()
		if !blank {
			if err := in.UnmarshalJSON(body); err != nil {
				t.Fatalf("UnmarshalJSON disagrees with Dispatch: %v", err)
			}
		}
		if verr := in.Validate(); oe.Code == openrunner.EINVALID {
			if openrunner.ErrorMessage(verr) != oe.Message {
				t.Fatalf("Validate()=%v, Dispatch said %v", verr, oe)
			}
			return
		} else if verr != nil {
			t.Fatalf("Validate()=%v, but Dispatch accepted the input", verr)
		}
		// A valid input round-trips through our encoder.
		enc, err := json.Marshal(in)
		if err != nil || !json.Valid(enc) {
			t.Fatalf("Marshal: %s, %v", enc, err)
		}
		again := newInput()
		if err := again.UnmarshalJSON(enc); err != nil {
			t.Fatalf("decoding our own output %s: %v", enc, err)
		}
		if !reflect.DeepEqual(in, again) {
			t.Fatalf("round trip changed the input\n in  %q\n out %s", body, enc)
		}
	})
}

// input is what every operation input implements.
type input interface {
	json.Unmarshaler
	Validate() error
}

// checkSyntax compares the decoder with encoding/json on body used as the
// value of a member: any valid JSON must be skipped as an unknown member
// (unless it is nested too deeply or is not UTF-8, which the decoder
// rejects on purpose), and a valid JSON string must decode to the same Go
// string.
func checkSyntax(t *testing.T, body []byte) {
	if !json.Valid(body) {
		return
	}
	wrapped := append(append([]byte(`{"Unknown":`), body...), '}')
	_, err := Dispatch(context.Background(), Unimplemented{}, "ListServices", wrapped)
	var de *DecodeError
	if errors.As(err, &de) && !strings.Contains(de.Message, "nested too deeply") && !strings.Contains(de.Message, "invalid UTF-8") {
		t.Fatalf("valid JSON %q not skipped: %v", body, err)
	}
	var want string
	if json.Unmarshal(body, &want) != nil || !utf8.Valid(body) {
		return
	}
	var in ListServicesInput
	if err := in.UnmarshalJSON(append(append([]byte(`{"NextToken":`), body...), '}')); err != nil {
		t.Fatalf("valid JSON string %q: %v", body, err)
	}
	if got := Deref(in.NextToken); got != want {
		t.Fatalf("JSON string %q decoded as %q, encoding/json says %q", body, got, want)
	}
}
