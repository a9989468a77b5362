// Package fuzzapi generates hostile App Runner requests from the API's
// model, across all its operations, sends them through a running server's
// full HTTP stack and checks the answers: never a 5xx, never a dropped
// connection, and every 4xx an AWS-shaped error with a __type.
//
// The e2e tests run a bounded number of requests against an in-process
// daemon; bench/fuzz runs a million against a built openrunner serve.
package fuzzapi

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"
)

// Model is the part of a Smithy/botocore JSON model the generator needs.
type Model struct {
	Metadata struct {
		TargetPrefix string `json:"targetPrefix"`
		SigningName  string `json:"signingName"`
	} `json:"metadata"`
	Operations map[string]struct {
		Input *struct {
			Shape string `json:"shape"`
		} `json:"input"`
	} `json:"operations"`
	Shapes map[string]*Shape `json:"shapes"`
}

// Shape is one model shape.
type Shape struct {
	Type    string `json:"type"`
	Members map[string]struct {
		Shape string `json:"shape"`
	} `json:"members"`
	Required []string `json:"required"`
	Enum     []string `json:"enum"`
	Member   *struct {
		Shape string `json:"shape"`
	} `json:"member"`
	Key *struct {
		Shape string `json:"shape"`
	} `json:"key"`
	Value *struct {
		Shape string `json:"shape"`
	} `json:"value"`
	Min *float64 `json:"min"`
	Max *float64 `json:"max"`

	// names are Members' keys, sorted, so that a seed gives one sequence.
	names []string
}

// LoadModel reads a model file such as wire/model/apprunner-2020-05-15.json.
func LoadModel(path string) (*Model, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var m Model
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(m.Operations) == 0 || m.Metadata.TargetPrefix == "" {
		return nil, fmt.Errorf("%s: no operations", path)
	}
	for _, s := range m.Shapes {
		for name := range s.Members {
			s.names = append(s.names, name)
		}
		sort.Strings(s.names)
	}
	return &m, nil
}

// OperationNames are the model's operations, sorted.
func (m *Model) OperationNames() []string {
	names := make([]string, 0, len(m.Operations))
	for name := range m.Operations {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}
