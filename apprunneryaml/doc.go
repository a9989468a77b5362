// Package apprunneryaml parses and validates App Runner's build-and-run
// configuration, from an apprunner.yaml file (Parse) or from the API's
// CodeConfigurationValues (FromAPI), into one Config with one lifecycle
// (Steps, BuildEnv, RunEnv), and holds the table of managed runtimes.
//
// Sources are cited as in shared/docs/apprunner-runtime.md: [DG:page] is
// the current App Runner Developer Guide, [DG-2022:page] its 2022 text, [API]
// the service model. "Choice" marks a behavior no source confirms, chosen
// here and documented (the doc's UNCONFIRMED items).
//
// # Rules of apprunner.yaml (Parse)
//
// Every problem is reported, ordered by line, as a *ValidationError of
// *FieldError, each reading "apprunner.yaml line N: key.path: message".
//
//  1. The file is one YAML document whose root is a mapping; invalid YAML,
//     invalid UTF-8, an empty file or a second document ("---") is an error
//     at its line [DG-2022:service-source-code-nodejs: "invalid or wrongly
//     indented apprunner.yaml" fails the build]. Choice: YAML errors that
//     yaml.v3 reports without a line are put on line 1.
//  2. Keys are exactly the hyphenated names of the schema: version, runtime,
//     build{commands{pre-build, build, post-build}, env}, run{runtime-version,
//     pre-run, command, network{port, env}, env, secrets}; env entries
//     {name, value}; secrets entries {name, value-from} [DG:config-file-ref].
//     Any other key is rejected as "unknown key", with a hint when it differs
//     only in case, "_" or "-" ("runtime_version", "preBuild") [apprunner-
//     runtime.md §1.2 "A faithful implementation rejects unknown
//     runtimes/keys"]. Choice: a duplicate key is an error, and YAML merge
//     keys ("<<") are unknown keys.
//  3. A key with a null value ("run:" alone) counts as absent. Choice.
//  4. version is required and must be 1.0 [DG:config-file-ref: "only
//     documented value is 1.0"]. Choice: "1" is accepted as 1.0.
//  5. runtime is required and must be a file runtime name of the table
//     below (python3, python311, nodejs12 … nodejs22, corretto8,
//     corretto11, go1, dotnet6, php81, ruby31) [DG:config-file-ref; API
//     Runtime]. An API name such as PYTHON_311 gets a "did you mean" hint.
//     "dockerfile" and other invented values are rejected [apprunner-
//     runtime.md §1.2].
//  6. build and build.commands are required; build.commands.build is a
//     required, non-empty list; pre-build and post-build are optional lists
//     [DG:config-file-ref: "Build commands are required."]. Each command is
//     a non-empty scalar; a list item that YAML reads as a mapping
//     ("- echo a: b") is reported with a hint to quote it.
//  7. run and run.command are required; command is one non-empty line
//     [DG:config-file-ref: "a single command string"]. Choice: a command
//     with a line break is rejected, as the API's StartCommand pattern
//     [^\x0a\x0d]+ rejects it [API StartCommand]; leading and trailing
//     space is trimmed.
//  8. run.runtime-version is optional: 1–5 dot-separated decimal components
//     (Corretto's 11.0.13.08.1 has 5) that start with the runtime's version
//     prefix (3 for python3, 3.11 for python311, 18 for nodejs18, 1 for go1)
//     [DG:config-file-ref; DG-2022:service-source-code-java]. One component
//     locks the major line, two the minor, three or more pin exactly
//     (Config.Lock) [DG:config-file-ref].
//  9. run.pre-run is allowed only with a revised-build runtime (python311,
//     nodejs18, nodejs22) [DG:config-file-ref "Revised build usage only";
//     DG:service-source-code table].
//  10. run.network.port is optional, default 8080, and must be a number from
//     1 to 65535, written as a YAML integer or a quoted decimal string
//     [DG:config-file-ref; API Port is a string].
//  11. run.network.env is optional: one more variable that receives the port
//     in addition to PORT [DG:config-file-ref].
//  12. build.env and run.env are lists of {name, value}; name is required and
//     value is required (Choice: "value:" with nothing is the empty string)
//     [DG:config-file-ref].
//  13. run.secrets is a list of {name, value-from}, both required; value-from
//     is a Secrets Manager secret ARN (arn:P:secretsmanager:R:ACCOUNT:secret:…,
//     JSON-key/stage/version suffixes allowed), an SSM parameter ARN
//     (arn:P:ssm:R:ACCOUNT:parameter/…) or a bare SSM parameter name
//     ([A-Za-z0-9_.-/]{1,2048}) [DG:config-file-ref; API
//     RuntimeEnvironmentSecrets].
//  14. Variable names (env, secrets, network.env) must not start with
//     AWSAPPRUNNER: "reserved for system use" [hashicorp/terraform-provider-aws
//     apprunner_service docs]. Choice: they must also be non-empty and
//     contain neither "=" nor NUL; a name may appear once in build.env and
//     once across run.env and run.secrets (one process environment).
//
// # Scoping and lifecycle
//
// build.env is visible to pre-build, build, post-build and pre-run, never at
// run time; run.env and run.secrets only at run time; PORT and the
// network.env alias are always set for the running app [DG:config-file-ref
// "They can only reference the environment variables defined in the Build
// section"; DG-2022:develop]. Config.Steps gives the build steps of the
// original build (pre-build, build, build again on the run image,
// post-build) or the revised build (pre-build, build, pre-run on the run
// image, post-build) [DG:service-source-code "More about the App Runner
// builds"], with the log prefix of each phase ([PreBuild], [Build],
// [PreRun], [PostBuild]) [LOG-PY311].
//
// # API values (FromAPI)
//
// Runtime is required and an API enum value; BuildCommand and StartCommand
// are single lines [API BuildCommand, StartCommand]; Port defaults to 8080
// and must be 1–65535; env and secret names follow rule 14 and secret values
// rule 13 [API CodeConfigurationValues]. Choice: StartCommand is required,
// and a name may not be both a variable and a secret.
//
// # Runtimes
//
// Runtimes lists the 13 API runtimes with their file names, build process,
// version prefix, default version and end of support [apprunner-runtime.md
// §2; API Runtime]. The file spellings dotnet6, php81 and ruby31 are
// unconfirmed (Runtime.NameUnconfirmed). A runtime past its end of support
// keeps existing services running and deployable, but new services cannot
// use it [DG:service-source-code]: CheckNewService enforces that for
// CreateService, with an injected time.
package apprunneryaml
