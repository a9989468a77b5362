package docker

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"

	"github.com/openrunner/openrunner"
	"github.com/openrunner/openrunner/apprunneryaml"
)

// Tests of the generated Dockerfile and the other parts of Build that need
// no engine.

var (
	buildEnv = []openrunner.EnvVar{{Name: "STAGE", Value: "prod"}}
	revised  = openrunner.BuildSpec{
		Directory: "configs/internal",
		Port:      8000,
		Steps: []openrunner.BuildStep{
			{Phase: "PreBuild", Commands: []string{"yum install -y pycairo"}, Env: buildEnv},
			{Phase: "Build", Commands: []string{"pip3 install --upgrade pip", "pip3 install -r ../requirements.txt"}, Env: buildEnv},
			{Phase: "PreRun", OnRunImage: true, Commands: []string{"pip3 install pipenv"}, Env: buildEnv},
			{Phase: "PostBuild", Commands: []string{"python3 manage.py test"}, Env: buildEnv},
		},
	}
)

func TestPlanBuild(t *testing.T) {
	for _, tc := range []struct {
		name          string
		spec          openrunner.BuildSpec
		want          string
		labels        map[string]string
		deploy, cache int
	}{{
		// apprunner-runtime.md §1.4, the revised build of python311.
		name: "Revised", spec: revised, deploy: 2, cache: 3,
		want: `# [PreBuild]
FROM build-img AS pre-build-stage
COPY source /app
WORKDIR /app/configs/internal
RUN export STAGE='prod'; yum install -y pycairo

# [Build]
FROM pre-build-stage AS build-stage
WORKDIR /app/configs/internal
RUN export STAGE='prod'; pip3 install --upgrade pip
RUN export STAGE='prod'; pip3 install -r ../requirements.txt

# [PreRun]
FROM run-img AS packaging-stage
COPY --from=build-stage /app /app
WORKDIR /app/configs/internal
RUN export STAGE='prod'; pip3 install pipenv
EXPOSE 8000

# [PostBuild]
FROM build-stage AS post-build-stage
WORKDIR /app/configs/internal
RUN export STAGE='prod'; python3 manage.py test
`,
	}, {
		// The original build runs the build commands again on the run
		// image, after /app is copied there.
		name: "Original", deploy: 1, cache: 2,
		spec: openrunner.BuildSpec{Port: 8080, Steps: []openrunner.BuildStep{
			{Phase: "Build", Commands: []string{"npm install"}},
			{Phase: "Build", OnRunImage: true, Commands: []string{"npm install"}},
			{Phase: "PostBuild", Commands: []string{"npm test"}},
		}},
		want: `# [Build]
FROM build-img AS build-stage
COPY source /app
WORKDIR /app
RUN npm install

# [Build]
FROM run-img AS packaging-stage
COPY --from=build-stage /app /app
WORKDIR /app
RUN npm install
EXPOSE 8080

# [PostBuild]
FROM build-stage AS post-build-stage
WORKDIR /app
RUN npm test
`,
	}, {
		// No commands at all: /app copied, and nothing run.
		name: "Empty", deploy: 1, cache: 0,
		spec: openrunner.BuildSpec{Port: 3000, Steps: []openrunner.BuildStep{{Phase: "Build"}}},
		want: `# [Build]
FROM build-img AS build-stage
COPY source /app
WORKDIR /app

# [PreRun]
FROM run-img AS packaging-stage
COPY --from=build-stage /app /app
WORKDIR /app
EXPOSE 3000
`,
	}, {
		// Without a run-image step, the packaging stage still comes
		// before post-build, from the build stage.
		name: "PostBuildWithoutPreRun", deploy: 1, cache: 2,
		spec: openrunner.BuildSpec{Steps: []openrunner.BuildStep{
			{Phase: "Build", Commands: []string{"make"}},
			{Phase: "PostBuild", Commands: []string{"make test", "  "}},
		}},
		want: `# [Build]
FROM build-img AS build-stage
COPY source /app
WORKDIR /app
RUN make

# [PreRun]
FROM run-img AS packaging-stage
COPY --from=build-stage /app /app
WORKDIR /app

# [PostBuild]
FROM build-stage AS post-build-stage
WORKDIR /app
RUN make test
`,
	}, {
		// The images Build keeps get one LABEL each, at the end.
		name: "Labels", deploy: 1, cache: 0,
		labels: map[string]string{"b": `say "$x" \`, "a": "1"},
		spec:   openrunner.BuildSpec{Port: 80, Steps: []openrunner.BuildStep{{Phase: "Build", Commands: []string{"make"}}}},
		want: `# [Build]
FROM build-img AS build-stage
COPY source /app
WORKDIR /app
RUN make
LABEL a="1" b="say \"\$x\" \\"

# [PreRun]
FROM run-img AS packaging-stage
COPY --from=build-stage /app /app
WORKDIR /app
EXPOSE 80
LABEL a="1" b="say \"\$x\" \\"
`,
	}, {
		// Empty steps make no stage; a second stage of a phase gets a
		// name of its own.
		name: "EmptyStepsAndRepeatedPhases", deploy: 3, cache: 1,
		spec: openrunner.BuildSpec{Steps: []openrunner.BuildStep{
			{Phase: "PreBuild"},
			{Phase: "Build", Commands: []string{"a"}},
			{Phase: "Build", Commands: []string{"b"}},
			{Phase: "PreRun", OnRunImage: true},
			{Phase: "PreRun", OnRunImage: true, Commands: []string{"c"}},
		}},
		want: `# [Build]
FROM build-img AS build-stage
COPY source /app
WORKDIR /app
RUN a

# [Build]
FROM build-stage AS build-2-stage
WORKDIR /app
RUN b

# [PreRun]
FROM run-img AS packaging-stage
COPY --from=build-2-stage /app /app
WORKDIR /app

# [PreRun]
FROM packaging-stage AS pre-run-stage
WORKDIR /app
RUN c
`,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := planBuild(tc.spec, "build-img", "run-img", tc.labels)
			if err != nil {
				t.Fatal(err)
			}
			if got := p.dockerfile(); got != tc.want {
				t.Errorf("Dockerfile:\n%s\nwant:\n%s", got, tc.want)
			}
			if p.deploy != tc.deploy || p.cache != tc.cache {
				t.Errorf("deploy, cache = %d, %d; want %d, %d", p.deploy, p.cache, tc.deploy, tc.cache)
			}
		})
	}
}

func TestPlanBuild_Step(t *testing.T) {
	p, err := planBuild(revised, "b", "r", nil)
	if err != nil {
		t.Fatal(err)
	}
	// A build of the packaging stage: pre-build (4 steps), build (4),
	// packaging (5), then the LABEL the builder adds.
	for _, tc := range []struct {
		n         int
		stage     string
		command   string
		from, ok_ bool
	}{
		{1, "pre-build-stage", "", true, true},
		{4, "pre-build-stage", "yum install -y pycairo", false, true},
		{7, "build-stage", "pip3 install --upgrade pip", false, true},
		{8, "build-stage", "pip3 install -r ../requirements.txt", false, true},
		{9, "packaging-stage", "", true, true},
		{12, "packaging-stage", "pip3 install pipenv", false, true},
		{13, "packaging-stage", "", false, true},
		{14, "", "", false, false},
	} {
		st, l, ok := p.step(2, tc.n)
		if ok != tc.ok_ {
			t.Errorf("step %d: ok = %v", tc.n, ok)
			continue
		}
		if !ok {
			continue
		}
		if st.name != tc.stage || (l == nil) != tc.from || l != nil && l.command != tc.command {
			t.Errorf("step %d = %s %+v, want %s %q (FROM: %v)", tc.n, st.name, l, tc.stage, tc.command, tc.from)
		}
	}

	err = p.stepError(2, 12, 2, "The command '/bin/sh -c export STAGE='prod'; pip3 install pipenv' returned a non-zero code: 2")
	if got, want := openrunner.ErrorMessage(err), `[PreRun] command "pip3 install pipenv" failed with exit code 2`; openrunner.ErrorCode(err) != openrunner.EINVALID || got != want {
		t.Errorf("stepError = %v, want EINVALID %q", err, want)
	}
	// A failure in an earlier stage (its cache gone, its command failing
	// this time) names that stage's phase.
	err = p.stepError(2, 7, 1, "The command ... returned a non-zero code: 1")
	if got, want := openrunner.ErrorMessage(err), `[Build] command "pip3 install --upgrade pip" failed with exit code 1`; got != want {
		t.Errorf("stepError = %q, want %q", got, want)
	}
	if err := p.stepError(2, 2, 0, "COPY failed: no space left on device"); openrunner.ErrorCode(err) != openrunner.EINTERNAL {
		t.Errorf("stepError of a COPY = %v, want an internal error", err)
	}
}

// TestRunLines runs the generated RUN instructions with /bin/sh as the
// builder would, to check that every command and value arrives unchanged.
func TestRunLines(t *testing.T) {
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("no /bin/sh")
	}
	tricky := "it's \"quoted\" $HOME `id` \\ back slash\ttab ünï ${x:-y} ; & | > < #"
	for _, tc := range []struct {
		name     string
		env      []openrunner.EnvVar
		command  string
		wantOut  string
		wantJSON bool
	}{
		{"Plain", nil, "echo hello", "hello\n", false},
		{"Env", []openrunner.EnvVar{{Name: "V", Value: tricky}, {Name: "W", Value: ""}}, `printf '%s|%s' "$V" "${W-unset}"`, tricky + "|", false},
		{"LaterValueWins", []openrunner.EnvVar{{Name: "V", Value: "1"}, {Name: "V", Value: "2"}}, `printf %s "$V"`, "2", false},
		{"MultiLine", nil, "for i in 1 2; do\n  echo $i\ndone", "1\n2\n", true},
		{"MultiLineWithEnv", []openrunner.EnvVar{{Name: "V", Value: tricky + "\n" + tricky}}, `printf '%s' "$V"`, tricky + "\n" + tricky, true},
		{"TrailingBackslash", nil, `echo a \`, "a \\\n", true},
		{"LeadingBracket", nil, `[ 1 = 1 ] && echo yes`, "yes\n", true},
		{"Comment", nil, "echo a # not a Dockerfile comment", "a\n", false},
		// In the shell's own environment: dash does not pass it on.
		{"NotAShellName", []openrunner.EnvVar{{Name: "my-var.x", Value: tricky}}, `tr '\000' '\n' </proc/$$/environ | grep '^my-var.x=' | cut -c10-`, tricky + "\n", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lines, err := runLines(openrunner.BuildStep{Phase: "Build", Commands: []string{tc.command}, Env: tc.env})
			if err != nil {
				t.Fatal(err)
			}
			if len(lines) != 1 || lines[0].command != tc.command {
				t.Fatalf("runLines = %+v, want one line for %q", lines, tc.command)
			}
			text := lines[0].text
			if strings.ContainsAny(text, "\n\r") {
				t.Fatalf("RUN instruction %q spans lines", text)
			}
			rest, ok := strings.CutPrefix(text, "RUN ")
			if !ok {
				t.Fatalf("%q is not a RUN", text)
			}
			var argv []string
			if tc.wantJSON {
				if err := json.Unmarshal([]byte(rest), &argv); err != nil {
					t.Fatalf("%q: want the exec form: %v", text, err)
				}
			} else {
				if strings.HasPrefix(rest, "[") {
					t.Fatalf("%q: want the shell form", text)
				}
				argv = []string{"/bin/sh", "-c", rest}
			}
			cmd := exec.Command(argv[0], argv[1:]...)
			cmd.Env = []string{"PATH=/usr/bin:/bin"}
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("%q: %v", argv, err)
			}
			if string(out) != tc.wantOut {
				t.Errorf("%s printed %q, want %q", text, out, tc.wantOut)
			}
		})
	}

	t.Run("Blank", func(t *testing.T) {
		lines, err := runLines(openrunner.BuildStep{Commands: []string{"", " \t", "true"}})
		if err != nil || len(lines) != 1 {
			t.Errorf("runLines = %+v, %v; want only the one non-blank command", lines, err)
		}
	})
	for _, tc := range []struct {
		name string
		step openrunner.BuildStep
	}{
		{"ErrNULCommand", openrunner.BuildStep{Commands: []string{"echo \x00"}}},
		{"ErrInvalidUTF8", openrunner.BuildStep{Commands: []string{"echo \xff"}}},
		{"ErrNULValue", openrunner.BuildStep{Commands: []string{"true"}, Env: []openrunner.EnvVar{{Name: "A", Value: "\x00"}}}},
		{"ErrEmptyName", openrunner.BuildStep{Commands: []string{"true"}, Env: []openrunner.EnvVar{{Name: "", Value: "x"}}}},
		{"ErrNameWithEquals", openrunner.BuildStep{Commands: []string{"true"}, Env: []openrunner.EnvVar{{Name: "A=B", Value: "x"}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := runLines(tc.step); openrunner.ErrorCode(err) != openrunner.EINVALID {
				t.Errorf("runLines: %v, want EINVALID", err)
			}
		})
	}
}

func TestWorkdirLine(t *testing.T) {
	for _, tc := range []struct{ dir, want string }{
		{"", "WORKDIR /app"},
		{"services/api-v2", "WORKDIR /app/services/api-v2"},
		{"my app", `WORKDIR "/app/my app"`},
		{`we$ird "dir"\x`, `WORKDIR "/app/we\$ird \"dir\"\\x"`},
	} {
		got, err := workdirLine(tc.dir)
		if err != nil || got != tc.want {
			t.Errorf("workdirLine(%q) = %q, %v; want %q", tc.dir, got, err, tc.want)
		}
	}
	for _, dir := range []string{"/abs", "../up", "..", "a/../b", "a/", "./a", "new\nline"} {
		if _, err := workdirLine(dir); openrunner.ErrorCode(err) != openrunner.EINVALID {
			t.Errorf("workdirLine(%q): %v, want EINVALID", dir, err)
		}
	}
}

func TestStageName(t *testing.T) {
	for phase, want := range map[string]string{
		"PreBuild":  "pre-build-stage",
		"Build":     "build-stage",
		"PostBuild": "post-build-stage",
		"PreRun":    "pre-run-stage",
		"":          "stage-stage",
		"9 Lives!":  "stage-9-lives-stage",
	} {
		if got := stageName(phase); got != want {
			t.Errorf("stageName(%q) = %q, want %q", phase, got, want)
		}
	}
}

func TestBuildRefs(t *testing.T) {
	arn := "arn:aws:apprunner:us-east-1:123456789012:service/web/8fe1e10304374e7c80684681ea826724"
	ref, cache, err := buildRefs(arn, "rev-1")
	if err != nil {
		t.Fatal(err)
	}
	if want := "openrunner-build/8fe1e10304374e7c80684681ea826724:rev-1"; ref != want {
		t.Errorf("ref = %q, want %q", ref, want)
	}
	if want := "openrunner-build/8fe1e10304374e7c80684681ea826724/cache:rev-1"; cache != want {
		t.Errorf("cache ref = %q, want %q", cache, want)
	}
	// Ids a reference cannot hold are made into ones it can, distinct.
	seen := map[string]string{}
	for _, id := range [][2]string{{"svc/ABC", "r"}, {"svc/abc", "r"}, {"svc/a_b", "r"}, {"svc/abc", ".r"}, {"svc/abc", "-r"}, {"svc/abc", "r.r"}, {"svc/abc", "r-r"}, {"svc/abc", strings.Repeat("x", 200)}, {"svc/abc", strings.Repeat("x", 201)}} {
		ref, _, err := buildRefs(id[0], id[1])
		if err != nil {
			t.Fatal(err)
		}
		if _, err := parseRef(ref); err != nil {
			t.Errorf("buildRefs(%q, %q) = %q: %v", id[0], id[1], ref, err)
		}
		if other, ok := seen[ref]; ok {
			t.Errorf("%q and %q share the ref %q", other, id, ref)
		}
		seen[ref] = id[0] + " " + id[1]
	}
	for _, id := range [][2]string{{"", "r"}, {"svc/x", ""}, {"arn:...:service/web/", "r"}} {
		if _, _, err := buildRefs(id[0], id[1]); openrunner.ErrorCode(err) != openrunner.EINVALID {
			t.Errorf("buildRefs(%q, %q): %v, want EINVALID", id[0], id[1], err)
		}
	}
}

func TestLineSplitter(t *testing.T) {
	var got []string
	s := &lineSplitter{emit: func(l string) { got = append(got, l) }}
	for _, chunk := range []string{"Step 1/2 : FROM x\n ---> ab", "c\n", "Downloading 10%\rDownloading 100%\r\n", "crlf\r\n", "last"} {
		s.write(chunk)
	}
	s.flush()
	want := []string{"Step 1/2 : FROM x", " ---> abc", "Downloading 100%", "crlf", "last"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("lines = %q, want %q", got, want)
	}
}

// TestDefaultRuntimeImages checks that every managed runtime has a valid
// default image, and that Options.RuntimeImages wins.
func TestDefaultRuntimeImages(t *testing.T) {
	defaults := DefaultRuntimeImages()
	for _, rt := range apprunneryaml.Runtimes() {
		img, ok := defaults[rt.Name]
		if !ok {
			t.Errorf("no default image for runtime %s", rt.Name)
			continue
		}
		if _, err := parseRef(img); err != nil {
			t.Errorf("runtime %s: %v", rt.Name, err)
		}
	}
	if got, want := len(defaults), len(apprunneryaml.Runtimes()); got != want {
		t.Errorf("%d default images for %d runtimes", got, want)
	}

	r, err := New(Options{RuntimeImages: map[string]string{"python311": "my/python:1"}})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for name, want := range map[string]string{"python311": "my/python:1", "nodejs22": "node:22"} {
		if got, err := r.runtimeImage(name); err != nil || got != want {
			t.Errorf("runtimeImage(%s) = %q, %v; want %q", name, got, err, want)
		}
	}
	if _, err := r.runtimeImage("cobol1"); openrunner.ErrorCode(err) != openrunner.EINVALID {
		t.Errorf("runtimeImage(cobol1): %v, want EINVALID", err)
	}
}
