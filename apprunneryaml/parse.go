package apprunneryaml

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// Parse reads and validates an apprunner.yaml file. On any problem it
// returns a *ValidationError listing every problem found, each with its
// line, e.g. "apprunner.yaml line 7: run.network.port: must be a number from
// 1 to 65535". The rules are listed in the package documentation.
func Parse(data []byte) (*Config, error) {
	var errs errList
	root, ok := decode(data, &errs)
	if !ok {
		return nil, errs.err()
	}
	p := &parser{errs: &errs}
	c := p.config(root)
	if err := errs.err(); err != nil {
		return nil, err
	}
	return c, nil
}

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// decode parses data as exactly one YAML document and returns its root
// node. Syntax problems are added to errs.
func decode(data []byte, errs *errList) (root *yaml.Node, ok bool) {
	// yaml.v3 reports invalid UTF-8 without a line; find it ourselves.
	if !utf8.Valid(data) {
		i := 0
		for i < len(data) {
			r, n := utf8.DecodeRune(data[i:])
			if r == utf8.RuneError && n <= 1 {
				break
			}
			i += n
		}
		errs.add(lineOf(data, i), "", "invalid YAML: the file is not valid UTF-8")
		return nil, false
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := safeDecode(dec, &doc); err != nil {
		if errors.Is(err, io.EOF) {
			errs.add(1, "", "the file is empty: version, runtime, build and run are required")
		} else {
			syntaxError(err, errs)
		}
		return nil, false
	}
	var extra yaml.Node
	switch err := safeDecode(dec, &extra); {
	case err == nil:
		errs.add(extra.Line, "", "only one YAML document is allowed")
		return nil, false
	case !errors.Is(err, io.EOF):
		syntaxError(err, errs)
		return nil, false
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 {
		errs.add(1, "", "the file is empty: version, runtime, build and run are required")
		return nil, false
	}
	return doc.Content[0], true
}

// lineOf returns the 1-based line of byte offset off, counting line breaks
// as YAML does: LF, CR, CR LF, NEL, LS and PS.
func lineOf(data []byte, off int) int {
	line := 1
	for i := 0; i < off && i < len(data); {
		r, n := utf8.DecodeRune(data[i:])
		switch r {
		case '\r':
			if i+1 < len(data) && data[i+1] == '\n' {
				n++
			}
			line++
		case '\n', '\u0085', '\u2028', '\u2029':
			line++
		}
		i += n
	}
	return line
}

// safeDecode guards against panics inside the YAML library on hostile
// input: a panic becomes a syntax error instead of crashing the builder.
func safeDecode(dec *yaml.Decoder, n *yaml.Node) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("yaml: %v", r)
		}
	}()
	return dec.Decode(n)
}

func syntaxError(err error, errs *errList) {
	msg := err.Error()
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		errs.add(line, "", "invalid YAML: "+m[2])
		return
	}
	// yaml.v3 gives some errors ("control characters are not allowed")
	// without a position; line 1 is the best we can say.
	errs.add(1, "", "invalid YAML: "+strings.TrimPrefix(msg, "yaml: "))
}

// parser walks the YAML tree against the schema.
type parser struct {
	errs *errList
}

func (p *parser) add(n *yaml.Node, path, msg string) { p.errs.add(n.Line, path, msg) }

// deref follows an alias to the node it names.
func deref(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 16; i++ {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	n = deref(n)
	return n == nil || n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// entry is one key of a mapping: the key node and its value.
type entry struct {
	key, val *yaml.Node
}

// mapping checks that n is a mapping whose keys are all in allowed, not
// duplicated, and returns the entries by key (null values included). A
// null n (a section written as "run:" with nothing under it) is an empty
// mapping, so its required keys are reported. ok is false if n is neither.
func (p *parser) mapping(n *yaml.Node, path string, allowed ...string) (m map[string]entry, ok bool) {
	m = make(map[string]entry)
	if isNull(n) {
		return m, true
	}
	n = deref(n)
	if n.Kind != yaml.MappingNode {
		p.add(n, path, "must be a mapping of keys ("+strings.Join(allowed, ", ")+")")
		return nil, false
	}
	seen := make(map[string]int)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := deref(n.Content[i]), n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			p.add(k, path, "keys must be plain strings")
			continue
		}
		kp := join(path, k.Value)
		if first, dup := seen[k.Value]; dup {
			p.add(k, kp, fmt.Sprintf("duplicate key (first defined on line %d)", first))
			continue
		}
		seen[k.Value] = k.Line
		if !contains(allowed, k.Value) {
			msg := "unknown key"
			if s := suggestKey(k.Value, allowed); s != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", s)
			}
			p.add(k, kp, msg)
			continue
		}
		m[k.Value] = entry{key: k, val: deref(v)}
	}
	return m, true
}

// opt returns the entry for an optional key; a null value counts as absent.
func opt(m map[string]entry, key string) (entry, bool) {
	e, ok := m[key]
	if !ok || isNull(e.val) {
		return entry{}, false
	}
	return e, true
}

// section returns the entry for a required section (build, run,
// build.commands), reporting it at line if absent. Its value may be null.
func (p *parser) section(m map[string]entry, key, path string, line int) (entry, bool) {
	e, ok := m[key]
	if !ok {
		p.errs.add(line, join(path, key), "is required")
	}
	return e, ok
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// suggestKey returns the allowed key that k spells differently only in
// case, underscores or hyphens ("runtime_version", "preBuild", "valueFrom").
func suggestKey(k string, allowed []string) string {
	norm := func(s string) string {
		return strings.NewReplacer("-", "", "_", "", " ", "").Replace(strings.ToLower(s))
	}
	nk := norm(k)
	for _, a := range allowed {
		if norm(a) == nk {
			return a
		}
	}
	return ""
}

// require returns the entry for a required key. An absent key is reported
// at line (the line of the enclosing mapping's key, 1 for the root), a null
// value at its key's line.
func (p *parser) require(m map[string]entry, key, path string, line int) (entry, bool) {
	e, ok := m[key]
	switch {
	case !ok:
		p.errs.add(line, join(path, key), "is required")
		return entry{}, false
	case isNull(e.val):
		p.add(e.key, join(path, key), "is required")
		return entry{}, false
	}
	return e, true
}

// scalar returns n's text if it is a scalar.
func (p *parser) scalar(n *yaml.Node, path string) (string, bool) {
	if n.Kind != yaml.ScalarNode {
		p.add(n, path, "must be a string")
		return "", false
	}
	return n.Value, true
}

// commands reads a list of shell commands.
func (p *parser) commands(n *yaml.Node, path string, required bool) []string {
	if n.Kind != yaml.SequenceNode {
		p.add(n, path, "must be a list of commands")
		return nil
	}
	if len(n.Content) == 0 && required {
		p.add(n, path, "must contain at least one command")
	}
	out := make([]string, 0, len(n.Content))
	for i, c := range n.Content {
		c = deref(c)
		ip := fmt.Sprintf("%s[%d]", path, i)
		switch {
		case c.Kind == yaml.MappingNode:
			// "- echo a: b" parses as a mapping: a classic mistake.
			p.add(c, ip, `must be a string (quote a command that contains ": ")`)
		case c.Kind != yaml.ScalarNode:
			p.add(c, ip, "must be a string")
		case isNull(c) || strings.TrimSpace(c.Value) == "":
			p.add(c, ip, "must not be empty")
		default:
			out = append(out, c.Value)
		}
	}
	return out
}

var (
	rootKeys     = []string{"version", "runtime", "build", "run"}
	buildKeys    = []string{"commands", "env"}
	commandsKeys = []string{"pre-build", "build", "post-build"}
	runKeys      = []string{"runtime-version", "pre-run", "command", "network", "env", "secrets"}
	networkKeys  = []string{"port", "env"}
	envKeys      = []string{"name", "value"}
	secretKeys   = []string{"name", "value-from"}
)

func (p *parser) config(root *yaml.Node) *Config {
	c := &Config{Source: SourceRepository, Run: Run{Port: DefaultPort}}
	m, ok := p.mapping(root, "", rootKeys...)
	if !ok {
		return c
	}
	if e, ok := p.require(m, "version", "", 1); ok {
		if v, ok := p.scalar(e.val, "version"); ok {
			if v != "1.0" && v != "1" {
				p.add(e.val, "version", fmt.Sprintf("unsupported version %q (must be 1.0)", v))
			}
			c.Version = "1.0"
		}
	}
	haveRuntime := false
	if e, ok := p.require(m, "runtime", "", 1); ok {
		if v, ok := p.scalar(e.val, "runtime"); ok {
			if r, ok := LookupRuntime(v); ok {
				c.Runtime, c.RuntimeLine, haveRuntime = *r, e.val.Line, true
			} else if s := suggestRuntime(v); s != "" {
				p.add(e.val, "runtime", fmt.Sprintf("unsupported runtime %q (did you mean %q?)", v, s))
			} else {
				p.add(e.val, "runtime", fmt.Sprintf("unsupported runtime %q (supported: %s)", v, runtimeNames(nil)))
			}
		}
	}
	if e, ok := p.section(m, "build", "", 1); ok {
		p.build(e, c)
	}
	if e, ok := p.section(m, "run", "", 1); ok {
		p.run(e, c, haveRuntime)
	}
	return c
}

func (p *parser) build(b entry, c *Config) {
	m, ok := p.mapping(b.val, "build", buildKeys...)
	if !ok {
		return
	}
	if ce, ok := p.section(m, "commands", "build", b.key.Line); ok {
		if cm, ok := p.mapping(ce.val, "build.commands", commandsKeys...); ok {
			if e, ok := opt(cm, "pre-build"); ok {
				c.Build.PreBuild = p.commands(e.val, "build.commands.pre-build", false)
			}
			if e, ok := p.require(cm, "build", "build.commands", ce.key.Line); ok {
				c.Build.Commands = p.commands(e.val, "build.commands.build", true)
			}
			if e, ok := opt(cm, "post-build"); ok {
				c.Build.PostBuild = p.commands(e.val, "build.commands.post-build", false)
			}
		}
	}
	if e, ok := opt(m, "env"); ok {
		c.Build.Env = p.envList(e.val, "build.env", map[string]int{})
	}
}

func (p *parser) run(r entry, c *Config, haveRuntime bool) {
	m, ok := p.mapping(r.val, "run", runKeys...)
	if !ok {
		return
	}
	if e, ok := opt(m, "runtime-version"); ok {
		if v, ok := p.scalar(e.val, "run.runtime-version"); ok {
			if msg := checkVersion(v, c.Runtime, haveRuntime); msg != "" {
				p.add(e.val, "run.runtime-version", msg)
			}
			c.Run.RuntimeVersion = v
		}
	}
	if e, ok := opt(m, "pre-run"); ok {
		if haveRuntime && !c.Runtime.Revised() {
			p.add(e.key, "run.pre-run", fmt.Sprintf(
				"only allowed for runtimes that use the revised build (%s); %s uses the original build",
				runtimeNames((*Runtime).Revised), c.Runtime.Name))
		}
		c.Run.PreRun = p.commands(e.val, "run.pre-run", false)
	}
	if e, ok := p.require(m, "command", "run", r.key.Line); ok {
		if v, ok := p.scalar(e.val, "run.command"); ok {
			if msg := checkCommand(v); msg != "" {
				p.add(e.val, "run.command", msg)
			}
			c.Run.Command = strings.TrimSpace(v)
		}
	}
	if e, ok := opt(m, "network"); ok {
		if nm, ok := p.mapping(e.val, "run.network", networkKeys...); ok {
			if e, ok := opt(nm, "port"); ok {
				if e.val.Kind != yaml.ScalarNode {
					p.add(e.val, "run.network.port", portMsg)
				} else if port, ok := parsePort(e.val.Value); ok {
					c.Run.Port = port
				} else {
					p.add(e.val, "run.network.port", portMsg)
				}
			}
			if e, ok := opt(nm, "env"); ok {
				if v, ok := p.scalar(e.val, "run.network.env"); ok {
					if msg := checkEnvName(v); msg != "" {
						p.add(e.val, "run.network.env", msg)
					}
					c.Run.PortEnv = v
				}
			}
		}
	}
	// run.env and run.secrets end up in one process environment, so a name
	// may appear only once across both.
	names := map[string]int{}
	if e, ok := opt(m, "env"); ok {
		c.Run.Env = p.envList(e.val, "run.env", names)
	}
	if e, ok := opt(m, "secrets"); ok {
		c.Run.Secrets = p.secrets(e.val, "run.secrets", names)
	}
}

const portMsg = "must be a number from 1 to 65535"

// parsePort accepts 1–65535 written as a YAML integer or a quoted string of
// decimal digits ("8000"), as the API's Port string is.
func parsePort(s string) (int, bool) {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > 5 {
		return 0, false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	n, _ := strconv.Atoi(s)
	return n, n >= 1 && n <= 65535
}

// checkCommand validates run.command (and the API's StartCommand).
func checkCommand(v string) string {
	v = strings.TrimSpace(v)
	switch {
	case v == "":
		return "must not be empty"
	case strings.ContainsAny(v, "\r\n"):
		return "must be a single line"
	}
	return ""
}

// checkVersion validates run.runtime-version against the runtime: dot-
// separated decimal components (at most 5, for Corretto's
// 11.0.13.08.1) that start with the runtime's VersionPrefix.
func checkVersion(v string, r Runtime, haveRuntime bool) string {
	parts := strings.Split(v, ".")
	ok := len(parts) <= 5
	for _, s := range parts {
		if s == "" || len(s) > 9 || strings.Trim(s, "0123456789") != "" {
			ok = false
		}
	}
	if !ok {
		return fmt.Sprintf("%q is not a version (write major[.minor[.patch]], e.g. 3.11 or 3.11.7)", v)
	}
	if !haveRuntime {
		return ""
	}
	prefix := strings.Split(r.VersionPrefix, ".")
	match := len(parts) >= len(prefix)
	for i := 0; match && i < len(prefix); i++ {
		// Compare numerically so that "018" is not "18" … but "3.011"
		// would be odd anyway; keep it textual except for leading zeros.
		match = strings.TrimLeft(parts[i], "0") == strings.TrimLeft(prefix[i], "0")
	}
	if !match {
		return fmt.Sprintf("version %s does not belong to runtime %s (must start with %s)", v, r.Name, r.VersionPrefix)
	}
	return ""
}

// checkEnvName validates a variable name of build.env, run.env,
// run.secrets and run.network.env.
func checkEnvName(name string) string {
	switch {
	case name == "":
		return "must not be empty"
	case strings.HasPrefix(name, ReservedPrefix):
		return fmt.Sprintf("%q is reserved: names starting with %s are for App Runner's use", name, ReservedPrefix)
	case strings.ContainsAny(name, "=\x00"):
		return fmt.Sprintf("%q is not a valid variable name (contains = or NUL)", name)
	}
	return ""
}

// envList reads a list of {name, value}. names records names already used
// in the same environment (name → line) to reject duplicates.
func (p *parser) envList(n *yaml.Node, path string, names map[string]int) []EnvVar {
	if n.Kind != yaml.SequenceNode {
		p.add(n, path, "must be a list of name/value pairs")
		return nil
	}
	var out []EnvVar
	for i, item := range n.Content {
		ip := fmt.Sprintf("%s[%d]", path, i)
		item = deref(item)
		m, ok := p.mapping(item, ip, envKeys...)
		if !ok {
			continue
		}
		name, okName := p.varName(m, ip, item.Line, names)
		var value string
		okValue := true
		// "value:" with nothing is the empty string; a missing value is an error.
		if e, ok := m["value"]; !ok {
			p.errs.add(item.Line, ip+".value", "is required")
			okValue = false
		} else if !isNull(e.val) {
			value, okValue = p.scalar(e.val, ip+".value")
		}
		if okName && okValue {
			out = append(out, EnvVar{Name: name, Value: value, Line: item.Line})
		}
	}
	return out
}

// varName reads and checks the name key of an env or secrets entry.
func (p *parser) varName(m map[string]entry, ip string, line int, names map[string]int) (string, bool) {
	e, ok := p.require(m, "name", ip, line)
	if !ok {
		return "", false
	}
	name, ok := p.scalar(e.val, ip+".name")
	if !ok {
		return "", false
	}
	if msg := checkEnvName(name); msg != "" {
		p.add(e.val, ip+".name", msg)
		return "", false
	}
	if first, dup := names[name]; dup {
		p.add(e.val, ip+".name", fmt.Sprintf("duplicate name %q (first defined on line %d)", name, first))
		return "", false
	}
	names[name] = e.val.Line
	return name, true
}

func (p *parser) secrets(n *yaml.Node, path string, names map[string]int) []Secret {
	if n.Kind != yaml.SequenceNode {
		p.add(n, path, "must be a list of name/value-from pairs")
		return nil
	}
	var out []Secret
	for i, item := range n.Content {
		ip := fmt.Sprintf("%s[%d]", path, i)
		item = deref(item)
		m, ok := p.mapping(item, ip, secretKeys...)
		if !ok {
			continue
		}
		name, okName := p.varName(m, ip, item.Line, names)
		e, okFrom := p.require(m, "value-from", ip, item.Line)
		var from string
		if okFrom {
			from, okFrom = p.scalar(e.val, ip+".value-from")
		}
		if okFrom && secretKind(from) == 0 {
			p.add(e.val, ip+".value-from", secretMsg)
			okFrom = false
		}
		if okName && okFrom {
			out = append(out, Secret{Name: name, ValueFrom: from, Line: item.Line})
		}
	}
	return out
}

const secretMsg = "must be a Secrets Manager secret ARN, an SSM parameter ARN or an SSM parameter name"
