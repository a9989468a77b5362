package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// model is a botocore service model. Decoding is strict: a field that is not
// listed here is an error, so a trait that changes the meaning of a shape
// (timestampFormat, idempotencyToken, union, ...) cannot be ignored by
// accident. Fields that only document are accepted and ignored.
type model struct {
	Version       string                `json:"version"`
	Metadata      json.RawMessage       `json:"metadata"`
	Documentation json.RawMessage       `json:"documentation"`
	Operations    map[string]*operation `json:"operations"`
	Shapes        map[string]*shape     `json:"shapes"`
}

type operation struct {
	Name              string          `json:"name"`
	Idempotent        bool            `json:"idempotent"`
	HTTP              json.RawMessage `json:"http"`
	Input             *ref            `json:"input"`
	Output            *ref            `json:"output"`
	Errors            []ref           `json:"errors"`
	Documentation     json.RawMessage `json:"documentation"`
	Deprecated        bool            `json:"deprecated"`
	DeprecatedMessage string          `json:"deprecatedMessage"`
}

type ref struct {
	Shape         string          `json:"shape"`
	Documentation json.RawMessage `json:"documentation"`
}

type shape struct {
	Type              string          `json:"type"`
	Members           members         `json:"members"`
	Required          []string        `json:"required"`
	Min               *int64          `json:"min"`
	Max               *int64          `json:"max"`
	Pattern           *string         `json:"pattern"`
	Enum              []string        `json:"enum"`
	Sensitive         bool            `json:"sensitive"`
	Exception         bool            `json:"exception"`
	Fault             bool            `json:"fault"`
	Error             json.RawMessage `json:"error"`
	Key               *ref            `json:"key"`
	Value             *ref            `json:"value"`
	Member            *ref            `json:"member"`
	Documentation     json.RawMessage `json:"documentation"`
	Deprecated        bool            `json:"deprecated"`
	DeprecatedMessage string          `json:"deprecatedMessage"`
	Box               bool            `json:"box"`

	name string // the shape's name in the model
}

// members keeps a structure's members in model order, which is the order
// validation errors are reported in.
type members []member

type member struct {
	Name  string
	Shape string `json:"shape"`
	// IdempotencyToken members are filled in by the SDKs when absent; the
	// server reads them as plain strings.
	IdempotencyToken  bool            `json:"idempotencyToken"`
	Documentation     json.RawMessage `json:"documentation"`
	Deprecated        bool            `json:"deprecated"`
	DeprecatedMessage string          `json:"deprecatedMessage"`
	Box               bool            `json:"box"`
}

func (ms *members) UnmarshalJSON(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return errors.New("members: expected an object")
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return err
		}
		var m member
		if err := strictUnmarshal(raw, &m); err != nil {
			return fmt.Errorf("member %v: %w", tok, err)
		}
		m.Name = tok.(string)
		*ms = append(*ms, m)
	}
	return nil
}

func strictUnmarshal(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("trailing data")
	}
	return nil
}

func parseModel(data []byte) (*model, error) {
	var m model
	if err := strictUnmarshal(data, &m); err != nil {
		return nil, err
	}
	if len(m.Operations) == 0 || len(m.Shapes) == 0 {
		return nil, errors.New("no operations or no shapes")
	}
	for name, s := range m.Shapes {
		s.name = name
	}
	return &m, nil
}
