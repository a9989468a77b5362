package wire

import (
	"encoding/json"
	"errors"
	"math/rand/v2"
	"testing"
	"time"
)

func TestTimestamp_MarshalJSON(t *testing.T) {
	for _, tc := range []struct {
		t    time.Time
		want string
	}{
		{time.Date(2020, 10, 2, 23, 25, 32, 650_000_000, time.UTC), "1601681132.65"},
		{time.Unix(1601681132, 0), "1601681132"},
		{time.Unix(1601681132, 1_000_000), "1601681132.001"},
		{time.Unix(1601681132, 100_000_000), "1601681132.1"},
		{time.Unix(1601681132, 123_999_999), "1601681132.123"}, // below a millisecond: dropped
		{time.Unix(1601681132, 999_999), "1601681132"},
		{time.Unix(0, 0), "0"},
		{time.Unix(-1, -500_000_000), "-1.5"},
		{time.Unix(-2, 765_500_000), "-1.235"}, // -1.2345 s rounds toward the past
		{time.Date(2020, 10, 3, 1, 25, 32, 650_000_000, time.FixedZone("CEST", 2*3600)), "1601681132.65"},
		{time.Time{}, "-62135596800"},
	} {
		b, err := json.Marshal(Timestamp{Time: tc.t})
		if err != nil {
			t.Fatal(err)
		}
		if got := string(b); got != tc.want {
			t.Errorf("Marshal(%v)=%s, want %s", tc.t, got, tc.want)
		}
		// A pointer member marshals the same.
		b, _ = json.Marshal(struct{ T *Timestamp }{NewTimestamp(tc.t)})
		if got, want := string(b), `{"T":`+tc.want+`}`; got != want {
			t.Errorf("Marshal(&%v)=%s, want %s", tc.t, got, want)
		}
	}
}

func TestTimestamp_UnmarshalJSON(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Time
	}{
		{"1601681132.65", time.Unix(1601681132, 650_000_000)},
		{"1601681132", time.Unix(1601681132, 0)},
		{"1.60168113265E9", time.Unix(1601681132, 650_000_000)},
		{"1.60168113265e+9", time.Unix(1601681132, 650_000_000)},
		{"16016811326500e-4", time.Unix(1601681132, 650_000_000)},
		{"1601681132.123456789", time.Unix(1601681132, 123_456_789)},
		{"1601681132.1234567891", time.Unix(1601681132, 123_456_789)},
		{"-1.5", time.Unix(-1, -500_000_000)},
		{"-0", time.Unix(0, 0)},
		{"0.001", time.Unix(0, 1_000_000)},
		{"5e-3", time.Unix(0, 5_000_000)},
		{"0e999", time.Unix(0, 0)},
		{"999999999999", time.Unix(999_999_999_999, 0)},
		{" 1601681132 ", time.Unix(1601681132, 0)},
	} {
		var ts Timestamp
		if err := json.Unmarshal([]byte(tc.in), &ts); err != nil {
			t.Errorf("Unmarshal(%s): %v", tc.in, err)
			continue
		}
		if !ts.Equal(tc.want) {
			t.Errorf("Unmarshal(%s)=%v, want %v", tc.in, ts.Time, tc.want)
		}
	}
	for _, in := range []string{`"1601681132"`, `"2020-10-02T23:25:32Z"`, `true`, `{}`, `[]`, `1e999`, `9999999999999`, `1.`, `.5`, `+1`, `01`, `1e`, `0x10`, `NaN`, ``} {
		ts := Timestamp{Time: time.Unix(7, 0)}
		err := ts.UnmarshalJSON([]byte(in))
		var de *DecodeError
		if !errors.As(err, &de) {
			t.Errorf("UnmarshalJSON(%s): err=%v, want a *DecodeError", in, err)
		}
		if !ts.Equal(time.Unix(7, 0)) {
			t.Errorf("UnmarshalJSON(%s) changed the value on error", in)
		}
	}
	// null leaves the value unchanged, as the json package expects.
	ts := Timestamp{Time: time.Unix(7, 0)}
	if err := ts.UnmarshalJSON([]byte("null")); err != nil || !ts.Equal(time.Unix(7, 0)) {
		t.Errorf("UnmarshalJSON(null)=%v, %v", ts.Time, err)
	}
}

func TestTimestamp_RoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 10000 {
		want := time.UnixMilli(r.Int64N(4e12) - 1e12)
		b, err := json.Marshal(Timestamp{Time: want})
		if err != nil {
			t.Fatal(err)
		}
		var got Timestamp
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("Unmarshal(%s): %v", b, err)
		}
		if !got.Equal(want) {
			t.Fatalf("round trip of %v via %s gave %v", want, b, got.Time)
		}
	}
}

func TestTimestamp_Member(t *testing.T) {
	var c Connection
	if err := json.Unmarshal([]byte(`{"CreatedAt":1601681132.65,"ConnectionName":"c"}`), &c); err != nil {
		t.Fatal(err)
	}
	if c.CreatedAt == nil || !c.CreatedAt.Equal(time.Unix(1601681132, 650_000_000)) {
		t.Errorf("CreatedAt=%v", c.CreatedAt)
	}
	for in, want := range map[string]string{
		`{"CreatedAt":"1601681132"}`: `Unable to parse request body: expected a number for member "CreatedAt"`,
		`{"CreatedAt":1e300}`:        `Unable to parse request body: timestamp out of range for member "CreatedAt"`,
	} {
		err := json.Unmarshal([]byte(in), &c)
		var de *DecodeError
		if !errors.As(err, &de) || de.Message != want {
			t.Errorf("Unmarshal(%s): err=%v, want %q", in, err, want)
		}
	}
}
