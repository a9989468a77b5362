package docker

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"path"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/openrunner/openrunner"
)

// contextSource is the directory of the build context that holds the
// repository. The generated Dockerfile sits beside it, at the context's
// root, so that no file of the repository can be mistaken for it or
// shadow it, and COPY brings only the repository into /app.
const contextSource = "source"

// buildPlan is the multi-stage Dockerfile of a build, one stage per
// BuildStep that has commands, and which stages' images a build keeps.
//
// The stages follow App Runner's revised build (apprunner-runtime.md
// §1.4): the first stage starts from the build image, copies the
// repository to /app and runs the first build-image step; each later
// build-image step starts FROM the stage before it on the build image. The
// first run-image step starts from the run image with /app copied from the
// last build-image stage before it (the packaging stage); later run-image
// steps continue from it. Steps on the build image after the packaging
// stage (post-build) continue the build-image chain, as App Runner's
// post-build stage resumes from the build stage. A packaging stage is made
// when no step runs on the run image, placed before the first PostBuild
// step, and a build stage when no build-image step has commands. The
// original build is the same shape, its second Build step being the
// run-image step (build commands again on the run image after copying
// /app).
type buildPlan struct {
	stages []*stage
	// deploy is the index of the stage whose image is deployed: the last
	// stage on the run image, which EXPOSEs the port.
	deploy int
	// cache is the index of the last stage on the build image. Its image
	// is kept (tagged) beside the deployed one: the build-image stages'
	// layers are its ancestors, so they stay as the next build's cache
	// instead of becoming dangling images.
	cache int
}

// stage is one stage of a buildPlan.
type stage struct {
	name  string // "build-stage": the build target
	phase string // BuildStep.Phase: the log prefix of its docker build
	from  string // an image or an earlier stage's name
	lines []line // the instructions after FROM
}

// line is one instruction of a stage.
type line struct {
	text    string // as written in the Dockerfile
	command string // for a RUN, the command as apprunner.yaml has it
}

// dockerfile returns the Dockerfile of the whole plan.
func (p *buildPlan) dockerfile() string {
	var b strings.Builder
	for i, st := range p.stages {
		if i > 0 {
			b.WriteByte('\n')
		}
		// The phase is OpenRunner's, but a line break in it would end
		// the comment.
		phase := strings.Map(func(r rune) rune {
			if unicode.IsControl(r) {
				return -1
			}
			return r
		}, st.phase)
		fmt.Fprintf(&b, "# [%s]\nFROM %s AS %s\n", phase, st.from, st.name)
		for _, l := range st.lines {
			b.WriteString(l.text)
			b.WriteByte('\n')
		}
	}
	return b.String()
}

// step returns the stage and line that the classic builder numbers n
// ("Step n/m") in a build whose target is stages[target]: it counts the
// FROM and the instructions of every stage up to the target. A FROM is
// returned as a nil line; ok is false past the last instruction.
func (p *buildPlan) step(target, n int) (st *stage, l *line, ok bool) {
	for _, s := range p.stages[:target+1] {
		if n == 1 {
			return s, nil, true
		}
		n--
		if n <= len(s.lines) {
			return s, &s.lines[n-1], true
		}
		n -= len(s.lines)
	}
	return nil, nil, false
}

// planBuild returns the plan of spec's build on buildImage and runImage
// (references or image IDs), with labels on the images it keeps (one
// LABEL at the end of the deploy and cache stages, which no other stage
// builds on). Returns EINVALID for a spec whose directory, commands or
// environment cannot be written into a Dockerfile faithfully.
func planBuild(spec openrunner.BuildSpec, buildImage, runImage string, labels map[string]string) (*buildPlan, error) {
	workdir, err := workdirLine(spec.Directory)
	if err != nil {
		return nil, err
	}
	if spec.Port < 0 || spec.Port > 65535 {
		return nil, openrunner.Errorf(openrunner.EINVALID, "port %d is not between 1 and 65535", spec.Port)
	}
	p := &buildPlan{deploy: -1, cache: -1}
	names := map[string]int{}
	add := func(phase, name, from string, runImage bool, lines []line) {
		if name == "" {
			name = stageName(phase)
		}
		// Stage names are unique in a Dockerfile: a second stage of the
		// same phase gets a number.
		names[name]++
		if n := names[name]; n > 1 {
			name = strings.TrimSuffix(name, "-stage") + "-" + strconv.Itoa(n) + "-stage"
		}
		st := &stage{name: name, phase: phase, from: from, lines: lines}
		p.stages = append(p.stages, st)
		if runImage {
			p.deploy = len(p.stages) - 1
		} else {
			p.cache = len(p.stages) - 1
		}
	}
	addBuild := func(phase string, runs []line) {
		if p.cache < 0 {
			lines := append([]line{{text: "COPY " + contextSource + " /app"}, {text: workdir}}, runs...)
			add(phase, "", buildImage, false, lines)
			return
		}
		add(phase, "", p.stages[p.cache].name, false, append([]line{{text: workdir}}, runs...))
	}
	addRun := func(phase string, runs []line) {
		if p.cache < 0 {
			addBuild("Build", nil)
		}
		if p.deploy < 0 {
			lines := append([]line{{text: "COPY --from=" + p.stages[p.cache].name + " /app /app"}, {text: workdir}}, runs...)
			add(phase, "packaging-stage", runImage, true, lines)
			return
		}
		add(phase, "", p.stages[p.deploy].name, true, append([]line{{text: workdir}}, runs...))
	}

	for _, s := range spec.Steps {
		runs, err := runLines(s)
		if err != nil {
			return nil, err
		}
		switch {
		case s.OnRunImage:
			if len(runs) > 0 || p.deploy < 0 {
				addRun(s.Phase, runs)
			}
		case s.Phase == "PostBuild" && p.deploy < 0:
			// Post-build resumes from the build stage: the run image gets
			// /app as the build left it.
			addRun("PreRun", nil)
			fallthrough
		default:
			if len(runs) > 0 {
				addBuild(s.Phase, runs)
			}
		}
	}
	if p.deploy < 0 {
		addRun("PreRun", nil)
	}
	if spec.Port > 0 {
		d := p.stages[p.deploy]
		d.lines = append(d.lines, line{text: "EXPOSE " + strconv.Itoa(spec.Port)})
	}
	if len(labels) > 0 {
		l := labelLine(labels)
		for _, i := range []int{p.deploy, p.cache} {
			p.stages[i].lines = append(p.stages[i].lines, line{text: l})
		}
	}
	return p, nil
}

// labelLine returns one LABEL instruction that sets labels, in name
// order, the values double-quoted with the characters LABEL expands
// escaped.
func labelLine(labels map[string]string) string {
	esc := strings.NewReplacer(`\`, `\\`, `"`, `\"`, `$`, `\$`, "\n", `\n`)
	var b strings.Builder
	b.WriteString("LABEL")
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		b.WriteString(" " + k + `="` + esc.Replace(labels[k]) + `"`)
	}
	return b.String()
}

// stageName returns the stage name App Runner gives a phase's stage
// ("pre-build-stage" for PreBuild): its words in lower case joined by
// hyphens, which the builder accepts as a stage name.
func stageName(phase string) string {
	var b strings.Builder
	hyphen := func() {
		if b.Len() > 0 && !strings.HasSuffix(b.String(), "-") {
			b.WriteByte('-')
		}
	}
	for _, r := range phase {
		switch {
		case r >= 'A' && r <= 'Z':
			hyphen()
			b.WriteRune(unicode.ToLower(r))
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
		default:
			hyphen()
		}
	}
	name := strings.TrimSuffix(b.String(), "-")
	if name == "" || name[0] < 'a' || name[0] > 'z' {
		name = strings.TrimSuffix("stage-"+name, "-")
	}
	return name + "-stage"
}

// workdirLine returns the WORKDIR instruction of /app/<dir>. The builder
// expands variables and quotes in WORKDIR, so a path with characters
// other than the plain ones is written in double quotes with ", $ and \
// escaped. Returns EINVALID for a directory that is not a clean relative
// path or has control characters.
func workdirLine(dir string) (string, error) {
	if dir != "" && (path.Clean(dir) != dir || path.IsAbs(dir) || dir == ".." || strings.HasPrefix(dir, "../")) {
		return "", openrunner.Errorf(openrunner.EINVALID, "source directory %q is not a clean path inside the repository", dir)
	}
	for _, r := range dir {
		if unicode.IsControl(r) {
			return "", openrunner.Errorf(openrunner.EINVALID, "source directory %q has a control character", dir)
		}
	}
	p := path.Join("/app", dir)
	plain := strings.IndexFunc(p, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("/._-+@,:=", r))
	}) < 0
	if plain {
		return "WORKDIR " + p, nil
	}
	return `WORKDIR "` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, `$`, `\$`).Replace(p) + `"`, nil
}

// runLines returns the RUN instructions of a step's commands; blank
// commands are left out. Returns EINVALID for a command or variable the
// shell cannot be given.
//
// The build environment is set per command rather than with ENV so that
// it never becomes part of an image's configuration: ENV in the packaging
// stage would put it in the deployed image's environment, where App
// Runner has only run.env, and ENV in a build stage would carry it into
// the stages that start FROM it, whose steps may have other variables.
// Each command is prefixed with "export NAME='value' ...; ", the values
// single-quoted, which keeps every byte but NUL as it is. A name the
// shell cannot export ("my-var", which apprunner.yaml allows) makes the
// step's commands run through env(1) instead: RUN ["env", "my-var=value",
// "/bin/sh", "-c", "command"]. Such a variable is in the shell's
// environment, as ENV would put it; whether the shell passes it on to
// the command depends on the shell (bash does, dash does not).
func runLines(s openrunner.BuildStep) ([]line, error) {
	exportable := true
	for _, v := range s.Env {
		if v.Name == "" || strings.ContainsAny(v.Name, "=\x00") {
			return nil, openrunner.Errorf(openrunner.EINVALID, "[%s] build environment variable %q is not a valid name", s.Phase, v.Name)
		}
		if strings.ContainsRune(v.Value, 0) || !utf8.ValidString(v.Name+v.Value) {
			return nil, openrunner.Errorf(openrunner.EINVALID, "[%s] build environment variable %q contains a NUL character or invalid UTF-8", s.Phase, v.Name)
		}
		exportable = exportable && shellName(v.Name)
	}
	var prefix string
	if exportable && len(s.Env) > 0 {
		var b strings.Builder
		b.WriteString("export")
		for _, v := range s.Env {
			b.WriteString(" " + v.Name + "=" + shellQuote(v.Value))
		}
		b.WriteString("; ")
		prefix = b.String()
	}
	var out []line
	for _, c := range s.Commands {
		if strings.ContainsRune(c, 0) || !utf8.ValidString(c) {
			return nil, openrunner.Errorf(openrunner.EINVALID, "[%s] command %q contains a NUL character or invalid UTF-8", s.Phase, c)
		}
		if strings.TrimSpace(c) == "" {
			continue
		}
		text := runInstruction(prefix + c)
		if !exportable {
			argv := []string{"env"}
			for _, v := range s.Env {
				argv = append(argv, v.Name+"="+v.Value)
			}
			text = "RUN " + execForm(append(argv, "/bin/sh", "-c", c))
		}
		out = append(out, line{text: text, command: c})
	}
	return out, nil
}

// shellName reports whether name is a variable name the shell can export.
func shellName(name string) bool {
	if name == "" {
		return false
	}
	for i, r := range name {
		if !(r == '_' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || i > 0 && r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// shellQuote returns s in single quotes for /bin/sh.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// runInstruction returns the RUN instruction that has /bin/sh -c run
// script. It is the shell form, as App Runner writes it, when the
// Dockerfile parser gives the script to the shell unchanged; otherwise
// (line breaks or other control characters, a trailing backslash, which
// continues the line, or a leading "[", which is read as JSON) it is the
// exec form of the same command, whose JSON carries any text.
func runInstruction(script string) string {
	trimmed := strings.TrimRight(script, " \t")
	shellForm := !strings.HasPrefix(strings.TrimLeft(script, " \t"), "[") &&
		!strings.HasSuffix(trimmed, `\`) &&
		strings.IndexFunc(script, func(r rune) bool { return unicode.IsControl(r) && r != '\t' }) < 0
	if shellForm {
		return "RUN " + script
	}
	return "RUN " + execForm([]string{"/bin/sh", "-c", script})
}

// execForm returns argv as the JSON array of an exec-form instruction.
func execForm(argv []string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	// Keep <, > and & readable in the build log.
	enc.SetEscapeHTML(false)
	_ = enc.Encode(argv) // strings always encode
	return strings.TrimSuffix(b.String(), "\n")
}
