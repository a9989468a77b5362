package secretsmanager

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"testing"
)

// The shapes App Runner's model lacks: blobs, longs, maps of lists and an
// operation without output.
func TestCodecOfOtherShapes(t *testing.T) {
	var in PutSecretValueInput
	if err := json.Unmarshal([]byte(`{"SecretId":"s","SecretBinary":"AAH/"}`), &in); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(in.SecretBinary, []byte{0, 1, 255}) {
		t.Fatalf("SecretBinary = %v", in.SecretBinary)
	}
	if err := json.Unmarshal([]byte(`{"SecretId":"s","SecretBinary":"not base64!"}`), &in); err == nil {
		t.Fatal("a SecretBinary that is not base64 decoded")
	}
	var del DeleteSecretInput
	if err := json.Unmarshal([]byte(`{"SecretId":"s","RecoveryWindowInDays":9007199254740993}`), &del); err != nil || *del.RecoveryWindowInDays != 9007199254740993 {
		t.Fatalf("RecoveryWindowInDays = %v, %v", del.RecoveryWindowInDays, err)
	}
	if err := json.Unmarshal([]byte(`{"RecoveryWindowInDays":9223372036854775808}`), &del); err == nil {
		t.Fatal("a long out of range decoded")
	}
	out := DescribeSecretOutput{VersionIdsToStages: map[string][]string{"b": {"AWSPREVIOUS"}, "a": {"AWSCURRENT", "x"}}}
	if got, want := string(out.AppendJSON(nil)), `{"VersionIdsToStages":{"a":["AWSCURRENT","x"],"b":["AWSPREVIOUS"]}}`; got != want {
		t.Fatalf("DescribeSecretOutput = %s, want %s", got, want)
	}
	got := string(GetSecretValueOutput{SecretBinary: []byte{0, 1, 255}}.mustJSON(t))
	if got != `{"SecretBinary":"AAH/"}` {
		t.Fatalf("GetSecretValueOutput = %s", got)
	}
	res, err := Dispatch(context.Background(), tagger{}, "TagResource", []byte(`{"SecretId":"s","Tags":[]}`))
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := json.Marshal(res); string(b) != "{}" {
		t.Fatalf("TagResource output = %s, want {}", b)
	}
	if _, err := Dispatch(context.Background(), tagger{}, "TagResource", []byte(`{"Tags":[]}`)); err == nil || errors.Is(err, ErrUnknownOperation) {
		t.Fatalf("TagResource without SecretId: %v", err)
	}
}

func (v GetSecretValueOutput) mustJSON(t *testing.T) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

type tagger struct{ Unimplemented }

func (tagger) TagResource(context.Context, *TagResourceInput) (*TagResourceOutput, error) {
	return nil, nil
}
