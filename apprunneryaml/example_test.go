package apprunneryaml_test

import (
	"fmt"

	"github.com/openrunner/openrunner/apprunneryaml"
)

func ExampleParse() {
	_, err := apprunneryaml.Parse([]byte(`version: 1.0
runtime: python3
build:
  commands:
    build:
      - pip install -r requirements.txt
run:
  command: python app.py
  network:
    port: 80000
  pre-run:
    - pip install gunicorn
`))
	fmt.Println(err)
	// Output:
	// apprunner.yaml line 10: run.network.port: must be a number from 1 to 65535
	// apprunner.yaml line 11: run.pre-run: only allowed for runtimes that use the revised build (nodejs18, nodejs22, python311); python3 uses the original build
}

func ExampleFromAPI() {
	c, err := apprunneryaml.FromAPI(apprunneryaml.CodeValues{
		Runtime:      "NODEJS_22",
		BuildCommand: "npm ci",
		StartCommand: "node server.js",
	})
	if err != nil {
		panic(err)
	}
	for _, s := range c.Steps() {
		fmt.Printf("[%s] %q\n", s.Phase, s.Commands)
	}
	fmt.Println(c.RunEnv())
	// Output:
	// [Build] ["npm ci"]
	// [{PORT 8080 0}]
}
