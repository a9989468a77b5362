package docker

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/distribution/reference"
	"github.com/docker/docker/api/types/build"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"

	"github.com/openrunner/openrunner"
)

var _ openrunner.Builder = (*Runtime)(nil)

// BuildRepository starts the name of every image Build makes:
// BuildRepository/<service id>:<revision id> is a revision's image, and
// BuildRepository/<service id>/cache:<revision id> the image that keeps
// its build stages' layers. They exist only in the engine; nothing pushes
// them.
const BuildRepository = "openrunner-build"

// defaultRuntimeImages is the image each managed runtime builds and runs
// on when Options.RuntimeImages names none: the official image of its
// language at the version App Runner's runtime has (apprunner-runtime.md
// §2). They are the full images, not the -slim ones, because one image
// serves both the build and the run stages, and build commands need what
// App Runner's build images have: a C compiler, make and git for pip's,
// npm's and bundler's native extensions and for cgo. The Java runtimes
// get Maven's Amazon Corretto images, since App Runner's Java examples
// build with mvn. The tags follow a runtime's release line (python:3.11),
// not BuildSpec.RuntimeVersion: App Runner's patch releases are its own
// builds, which the official images do not all match, and a build pinned
// to one would fail for want of an image rather than run on the line's
// newest.
var defaultRuntimeImages = map[string]string{
	"python3":    "python:3.8",
	"python311":  "python:3.11",
	"nodejs12":   "node:12",
	"nodejs14":   "node:14",
	"nodejs16":   "node:16",
	"nodejs18":   "node:18",
	"nodejs22":   "node:22",
	"corretto8":  "maven:3-amazoncorretto-8",
	"corretto11": "maven:3-amazoncorretto-11",
	"go1":        "golang:1.18",
	"dotnet6":    "mcr.microsoft.com/dotnet/sdk:6.0",
	"php81":      "php:8.1-cli",
	"ruby31":     "ruby:3.1",
}

// DefaultRuntimeImages returns the image of each managed runtime, by its
// apprunner.yaml name, that Build uses unless Options.RuntimeImages says
// otherwise.
func DefaultRuntimeImages() map[string]string {
	return maps.Clone(defaultRuntimeImages)
}

// Build builds the image of a source-code revision with the engine's
// classic builder, from a multi-stage Dockerfile generated from
// spec.Steps (see buildPlan) on the runtime's image (Options.RuntimeImages,
// else DefaultRuntimeImages; spec.RuntimeVersion does not choose it). The
// build context is spec.SourceDir, copied whole to /app, with the
// Dockerfile beside it rather than in it.
//
// Like App Runner, it runs one docker build per stage, in order, with the
// stage as the target: earlier stages come from the cache, and every line
// of a stage's build goes to spec.Log prefixed with its phase ("[Build]
// Step 3/5 : RUN npm ci"). The image of the last stage on the run image is
// tagged BuildRepository/<service id>:<revision id> and returned; the last
// build-image stage's is tagged under BuildRepository/<service
// id>/cache, so that the build layers stay as cache for the next build
// and are removed with the revision (RemoveBuild). Both carry LabelOwner,
// openrunner.LabelServiceARN and openrunner.LabelRevision. What a failed
// or cancelled build made is removed.
//
// The runtime's image is pulled when the engine does not have it, through
// Options.Mirrors with Options.Registries' credentials. Returns EINVALID
// when that image cannot be had, when a command fails (naming the phase,
// the command and its exit code), and for a spec that cannot be written
// into a Dockerfile; other errors are the engine's or OpenRunner's.
func (r *Runtime) Build(ctx context.Context, spec openrunner.BuildSpec) (openrunner.Image, error) {
	start := r.now()
	log := spec.Log
	if log == nil {
		log = func(string) {}
	}
	ref, cacheRef, err := buildRefs(spec.ServiceARN, spec.RevisionID)
	if err != nil {
		return openrunner.Image{}, err
	}
	if fi, err := os.Stat(spec.SourceDir); err != nil {
		return openrunner.Image{}, fmt.Errorf("docker: build source: %w", err)
	} else if !fi.IsDir() {
		return openrunner.Image{}, fmt.Errorf("docker: build source %s is not a directory", spec.SourceDir)
	}
	base, err := r.runtimeImage(spec.Runtime)
	if err != nil {
		return openrunner.Image{}, err
	}
	// Not LabelManagedBy, which marks the containers ListInstances
	// finds: the builder runs a container of each step, the LABEL step's
	// with these labels.
	labels := map[string]string{
		LabelOwner:                 r.owner,
		openrunner.LabelServiceARN: spec.ServiceARN,
		openrunner.LabelRevision:   spec.RevisionID,
	}
	// Written before the image is known, to check the spec before a pull.
	if _, err := planBuild(spec, base, base, labels); err != nil {
		return openrunner.Image{}, err
	}
	from, baseID, err := r.ensureRuntimeImage(ctx, spec.Runtime, base, phaseLog(log, firstPhase(spec)))
	if err != nil {
		return openrunner.Image{}, err
	}
	p, err := planBuild(spec, from, from, labels)
	if err != nil {
		return openrunner.Image{}, err
	}
	dockerfile := []byte(p.dockerfile())

	ids := make([]string, len(p.stages))
	for i, st := range p.stages {
		res, err := r.buildStage(ctx, spec.SourceDir, dockerfile, p, i, phaseLog(log, st.phase))
		if err != nil {
			r.removeLeftovers(append(ids[:i:i], res.last), res.container, baseID)
			return openrunner.Image{}, err
		}
		ids[i] = res.id
	}
	// The cache first: ref is there only once the build is complete.
	if err := r.tagBuild(ctx, ids[p.cache], cacheRef); err != nil {
		r.removeLeftovers(ids, "", baseID)
		return openrunner.Image{}, err
	}
	if err := r.tagBuild(ctx, ids[p.deploy], ref); err != nil {
		r.removeTag(cacheRef)
		r.removeLeftovers(ids, "", baseID)
		return openrunner.Image{}, err
	}
	r.logger.Info("built image", "ref", ref, "id", ids[p.deploy], "service", spec.ServiceARN, "revision", spec.RevisionID, "runtime", spec.Runtime, "took", r.now().Sub(start))
	return openrunner.Image{Ref: ref, ID: ids[p.deploy]}, nil
}

// firstPhase returns the phase of spec's first step, under which the pull
// of the runtime's image is logged.
func firstPhase(spec openrunner.BuildSpec) string {
	if len(spec.Steps) > 0 {
		return spec.Steps[0].Phase
	}
	return "Build"
}

// phaseLog returns a log that prefixes each line with the phase.
func phaseLog(log func(string), phase string) func(string) {
	prefix := "[" + phase + "] "
	return func(line string) { log(prefix + line) }
}

// runtimeImage returns the image of the managed runtime name. Returns
// EINVALID for a runtime that has none.
func (r *Runtime) runtimeImage(name string) (string, error) {
	if img := r.runtimeImages[name]; img != "" {
		return img, nil
	}
	if img := defaultRuntimeImages[name]; img != "" {
		return img, nil
	}
	return "", openrunner.Errorf(openrunner.EINVALID, "the Docker runtime has no image for runtime %q: configure one with --runtime-image %s=IMAGE", name, name)
}

// ensureRuntimeImage makes the runtime's image available and returns what
// the Dockerfile's FROM names: the reference itself, or the image ID when
// the engine has it only under a mirror's name (a digest reference
// pulled through a mirror cannot be tagged with the name it was asked
// by). Returns EINVALID, saying how to configure another image, when it
// cannot be had.
func (r *Runtime) ensureRuntimeImage(ctx context.Context, runtime, ref string, log func(string)) (from, id string, err error) {
	img, err := r.EnsureImage(ctx, ref, false, log)
	if openrunner.ErrorCode(err) == openrunner.EINVALID {
		return "", "", openrunner.Errorf(openrunner.EINVALID, "the image %s of runtime %s cannot be had (%s): make it available to the Docker engine, or configure another with --runtime-image %s=IMAGE", ref, runtime, openrunner.ErrorMessage(err), runtime)
	} else if err != nil {
		return "", "", err
	}
	named, err := parseRef(ref)
	if err != nil {
		return "", "", err
	}
	if _, ok, err := r.localImage(ctx, named); err != nil {
		return "", "", err
	} else if !ok {
		return img.ID, img.ID, nil
	}
	return ref, img.ID, nil
}

// stageResult is what one docker build of a stage made.
type stageResult struct {
	id        string // the target's image, when the build succeeded
	last      string // the image of the last step that completed, as the builder prints it
	container string // the last step's container ("Running in ...")
}

// buildMessage is one message of the engine's build output.
type buildMessage struct {
	Stream      string          `json:"stream"`
	Aux         json.RawMessage `json:"aux"`
	Error       string          `json:"error"`
	ErrorDetail *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"errorDetail"`
}

var (
	stepLine  = regexp.MustCompile(`^Step (\d+)/\d+ : `)
	imageLine = regexp.MustCompile(`^ ---> ([0-9a-f]{12,64})$`)
	runLine   = regexp.MustCompile(`^ ---> Running in ([0-9a-f]{12,64})$`)
)

// buildStage runs the docker build of p.stages[target] and passes its
// output to log, line by line. A failed RUN is EINVALID naming the phase
// of the stage it belongs to, its command and its exit code.
func (r *Runtime) buildStage(ctx context.Context, dir string, dockerfile []byte, p *buildPlan, target int, log func(string)) (res stageResult, err error) {
	st := p.stages[target]
	// The context is written as the engine reads it, so that it is never
	// all in memory or on disk twice. Closing the reader ends the writer
	// early when the build does not read to the end; done says that it
	// has returned.
	pr, pw := io.Pipe()
	done := make(chan struct{})
	var werr error // set before done is closed
	go func() {
		defer close(done)
		werr = writeContext(pw, dir, dockerfile)
		pw.CloseWithError(werr)
	}()
	// contextErr stops the writer and returns why it failed, if it did:
	// a context that could not be read is why the engine failed then.
	contextErr := func() error {
		pr.Close()
		<-done
		if werr != nil && !errors.Is(werr, io.ErrClosedPipe) {
			return fmt.Errorf("docker: build %s: %w", st.name, werr)
		}
		return nil
	}
	defer contextErr()

	resp, err := r.client.ImageBuild(ctx, pr, build.ImageBuildOptions{
		Dockerfile: "Dockerfile",
		Target:     st.name,
		// Intermediate containers go, even when a step fails; their
		// images stay as the build cache.
		Remove:      true,
		ForceRemove: true,
		// The runtime's image is in the store (ensureRuntimeImage); a
		// pull here would bypass the mirrors and credentials.
		PullParent: false,
		Version:    build.BuilderV1,
	})
	if err != nil {
		if ctx.Err() != nil {
			return res, ctx.Err()
		}
		if cerr := contextErr(); cerr != nil {
			return res, cerr
		}
		return res, engineError("build "+st.name, err)
	}
	defer resp.Body.Close()

	step := 0
	lines := &lineSplitter{emit: func(l string) {
		log(l)
		if m := stepLine.FindStringSubmatch(l); m != nil {
			step, _ = strconv.Atoi(m[1])
		} else if m := imageLine.FindStringSubmatch(l); m != nil {
			res.last = m[1]
		} else if m := runLine.FindStringSubmatch(l); m != nil {
			res.container = m[1]
		}
	}}
	dec := json.NewDecoder(resp.Body)
	for {
		var m buildMessage
		if err := dec.Decode(&m); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			lines.flush()
			if ctx.Err() != nil {
				return res, ctx.Err()
			}
			if cerr := contextErr(); cerr != nil {
				return res, cerr
			}
			return res, engineError("read the output of build "+st.name, err)
		}
		lines.write(m.Stream)
		if len(m.Aux) > 0 {
			var aux build.Result
			if json.Unmarshal(m.Aux, &aux) == nil && aux.ID != "" {
				res.id = aux.ID
			}
		}
		if m.ErrorDetail != nil || m.Error != "" {
			lines.flush()
			msg, code := m.Error, 0
			if m.ErrorDetail != nil {
				msg, code = m.ErrorDetail.Message, m.ErrorDetail.Code
			}
			for _, l := range strings.Split(msg, "\n") {
				log(l)
			}
			if cerr := contextErr(); cerr != nil {
				return res, cerr
			}
			return res, p.stepError(target, step, code, msg)
		}
	}
	lines.flush()
	if res.id == "" {
		return res, fmt.Errorf("docker: build %s: the engine did not say which image it built", st.name)
	}
	return res, nil
}

// stepError returns the error of step n of the build of p.stages[target]
// that failed with the engine's message msg and code: EINVALID for a RUN
// that exited non-zero (the engine's code is its exit code), an error of
// OpenRunner's otherwise.
func (p *buildPlan) stepError(target, n, code int, msg string) error {
	st, l, ok := p.step(target, n)
	switch {
	case ok && l != nil && l.command != "" && code != 0:
		return openrunner.Errorf(openrunner.EINVALID, "[%s] command %q failed with exit code %d", st.phase, l.command, code)
	case code != 0 && strings.Contains(msg, "returned a non-zero code"):
		// A RUN the plan does not know: the engine's words say it all.
		return openrunner.Errorf(openrunner.EINVALID, "[%s] %s", p.stages[target].phase, msg)
	default:
		return fmt.Errorf("docker: build %s: %s", p.stages[target].name, msg)
	}
}

// writeContext writes the build context to w as a tar archive: the
// Dockerfile at its root and the tree at dir under contextSource. Regular
// files, directories and symbolic links are written as they are, with
// their permissions and times but owned by root (as COPY makes them);
// sockets, devices and pipes are left out.
func writeContext(w io.Writer, dir string, dockerfile []byte) error {
	tw := tar.NewWriter(w)
	if err := tw.WriteHeader(&tar.Header{Name: "Dockerfile", Mode: 0o644, Size: int64(len(dockerfile)), Typeflag: tar.TypeReg}); err != nil {
		return err
	}
	if _, err := tw.Write(dockerfile); err != nil {
		return err
	}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		name := contextSource
		if rel != "." {
			name += "/" + filepath.ToSlash(rel)
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		var link string
		switch {
		case fi.Mode().IsRegular(), fi.IsDir():
		case fi.Mode()&fs.ModeSymlink != 0:
			if link, err = os.Readlink(path); err != nil {
				return err
			}
		default:
			return nil
		}
		hdr, err := tar.FileInfoHeader(fi, link)
		if err != nil {
			return err
		}
		hdr.Name = name
		if fi.IsDir() {
			hdr.Name += "/"
		}
		hdr.Uid, hdr.Gid, hdr.Uname, hdr.Gname = 0, 0, "", ""
		hdr.AccessTime, hdr.ChangeTime = time.Time{}, time.Time{}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if !fi.Mode().IsRegular() {
			return nil
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		if _, err := io.CopyN(tw, f, hdr.Size); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("build context: %w", err)
	}
	return tw.Close()
}

// tagBuild tags id as ref. The image ref named before, if another, is
// removed unless something else still uses it, so that rebuilding a
// revision leaves no dangling image.
func (r *Runtime) tagBuild(ctx context.Context, id, ref string) error {
	var old string
	if ii, err := r.client.ImageInspect(ctx, ref); err == nil {
		old = ii.ID
	} else if !cerrdefs.IsNotFound(err) {
		return engineError("inspect image "+ref, err)
	}
	if err := r.client.ImageTag(ctx, id, ref); err != nil {
		return engineError("tag "+id+" as "+ref, err)
	}
	if old != "" && old != id {
		r.removeUntagged(ctx, old)
	}
	return nil
}

// removeTag removes the tag ref, and the image if nothing else uses it,
// on its own context, for cleaning up after a failure.
func (r *Runtime) removeTag(ref string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := r.client.ImageRemove(ctx, ref, image.RemoveOptions{PruneChildren: true}); err != nil && !cerrdefs.IsNotFound(err) {
		r.logger.Warn("cannot remove build image", "ref", ref, "err", err)
	}
}

// removeLeftovers removes what a build that failed made: the images
// listed, and their parents, as far as nothing else uses them (a tag, a
// child image, a container). The runtime's own image, baseID, is kept.
// container is the step that was running, if any: the engine removes it
// after a cancelled build, but maybe not yet, and it would keep its image.
// It runs on its own context, so that a cancelled build still cleans up.
func (r *Runtime) removeLeftovers(ids []string, container, baseID string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if container != "" {
		r.removeStepContainer(ctx, container)
	}
	for i := len(ids) - 1; i >= 0; i-- {
		if ids[i] != "" && !sameImage(ids[i], baseID) {
			r.removeUntagged(ctx, ids[i])
		}
	}
}

// removeStepContainer removes a build step's container, or waits for the
// engine to finish removing it.
func (r *Runtime) removeStepContainer(ctx context.Context, id string) {
	for {
		err := r.client.ContainerRemove(ctx, id, container.RemoveOptions{Force: true})
		switch {
		case err == nil, cerrdefs.IsNotFound(err):
			return
		case !cerrdefs.IsConflict(err) || ctx.Err() != nil:
			// "removal already in progress" is a conflict: wait for it.
			r.logger.Warn("cannot remove build container", "id", shortID(id), "err", err)
			return
		}
		select {
		case <-ctx.Done():
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// sameImage reports whether two image IDs, full or short, with or without
// "sha256:", name the same image.
func sameImage(a, b string) bool {
	a, b = strings.TrimPrefix(a, "sha256:"), strings.TrimPrefix(b, "sha256:")
	return a != "" && b != "" && (strings.HasPrefix(a, b) || strings.HasPrefix(b, a))
}

// removeUntagged removes the image id and the parents only it used, if it
// has no tag or digest and no child image or container uses it.
func (r *Runtime) removeUntagged(ctx context.Context, id string) {
	ii, err := r.client.ImageInspect(ctx, id)
	if err != nil || len(ii.RepoTags) > 0 || len(ii.RepoDigests) > 0 {
		return
	}
	// Without Force the engine refuses an image with children or
	// containers: it is someone else's cache then.
	_, err = r.client.ImageRemove(ctx, ii.ID, image.RemoveOptions{PruneChildren: true})
	if err != nil && !cerrdefs.IsNotFound(err) && !cerrdefs.IsConflict(err) {
		r.logger.Warn("cannot remove build image", "id", shortID(strings.TrimPrefix(ii.ID, "sha256:")), "err", err)
	}
}

// RemoveBuild removes the image Build tagged ref and the cache image of
// the same revision, with the layers that only they used. An image that
// is gone, or that another owner built, is left alone. Returns an error
// while a container still uses the image.
func (r *Runtime) RemoveBuild(ctx context.Context, ref string) error {
	named, err := parseRef(ref)
	if err != nil {
		return err
	}
	tagged, ok := named.(reference.Tagged)
	if !ok {
		return openrunner.Errorf(openrunner.EINVALID, "%s is not an image Build made", ref)
	}
	cacheRef := reference.FamiliarName(named) + "/cache:" + tagged.Tag()
	for _, n := range []string{reference.FamiliarString(named), cacheRef} {
		ii, err := r.client.ImageInspect(ctx, n)
		switch {
		case cerrdefs.IsNotFound(err):
			continue
		case err != nil:
			return engineError("inspect image "+n, err)
		}
		if ii.Config == nil || ii.Config.Labels[LabelOwner] != r.owner || ii.Config.Labels[openrunner.LabelRevision] == "" {
			r.logger.Warn("not removing an image this runtime did not build", "ref", n)
			continue
		}
		resp, err := r.client.ImageRemove(ctx, n, image.RemoveOptions{PruneChildren: true})
		switch {
		case cerrdefs.IsNotFound(err):
		case err != nil:
			return engineError("remove image "+n, err)
		default:
			deleted := 0
			for _, d := range resp {
				if d.Deleted != "" {
					deleted++
				}
			}
			r.logger.Info("removed build image", "ref", n, "deleted", deleted)
		}
	}
	return nil
}

// buildRefs returns the tags of a revision's image and of its cache image:
// BuildRepository/<service id>:<revision id> and BuildRepository/<service
// id>/cache:<revision id>, the service id being the last part of the ARN.
// Characters a reference cannot have are replaced, and a hash of the
// original added, so that different ids never share a tag.
func buildRefs(serviceARN, revisionID string) (ref, cacheRef string, err error) {
	if serviceARN == "" || revisionID == "" {
		return "", "", openrunner.Errorf(openrunner.EINVALID, "a build needs a service ARN and a revision ID")
	}
	svc := serviceARN[strings.LastIndexByte(serviceARN, '/')+1:]
	if svc == "" {
		return "", "", openrunner.Errorf(openrunner.EINVALID, "service ARN %q has no service id", serviceARN)
	}
	repo := BuildRepository + "/" + refPart(svc, pathUnsafe, strings.ToLower, 64)
	tag := refPart(revisionID, tagUnsafe, nil, 128)
	return repo + ":" + tag, repo + "/cache:" + tag, nil
}

var (
	pathUnsafe = regexp.MustCompile(`[^a-z0-9]+`)
	tagUnsafe  = regexp.MustCompile(`[^A-Za-z0-9_.-]+`)
)

// refPart returns s as a part of an image reference of at most n bytes:
// fold applied, runs of unsafe characters replaced by "-", "-" and "."
// (which cannot start a tag) trimmed, and, if that changed anything, a
// hash of s added.
func refPart(s string, unsafe *regexp.Regexp, fold func(string) string, n int) string {
	out := s
	if fold != nil {
		out = fold(out)
	}
	out = strings.TrimLeft(strings.TrimRight(unsafe.ReplaceAllString(out, "-"), "-"), "-.")
	if out == s && len(out) <= n {
		return out
	}
	sum := sha256.Sum256([]byte(s))
	h := hex.EncodeToString(sum[:4])
	out = truncate(out, n-len(h)-1)
	if out == "" {
		return h
	}
	return strings.TrimRight(out, "-") + "-" + h
}

// lineSplitter turns the chunks of a build's output into lines. A line
// redrawn with carriage returns (a progress bar) is passed on as it was
// last drawn.
type lineSplitter struct {
	emit  func(string)
	lines lines
}

func (s *lineSplitter) write(text string) { s.lines.write([]byte(text), s.line) }

func (s *lineSplitter) flush() { s.lines.flush(s.line) }

func (s *lineSplitter) line(b []byte) {
	l := strings.TrimRight(string(b), "\r")
	if i := strings.LastIndexByte(l, '\r'); i >= 0 {
		l = l[i+1:]
	}
	s.emit(ansiEscape.ReplaceAllString(l, ""))
}

// ansiEscape matches the terminal colour codes the classic builder wraps
// around a step's standard error; the log keeps the text only.
var ansiEscape = regexp.MustCompile(`\x1b\[[0-9;?]*[A-Za-z]`)

// Builds implements openrunner.Builder: the revisions of every image of
// BuildRepository labelled with this runtime's owner, a deployed image or
// only the cache of a build that did not finish.
func (r *Runtime) Builds(ctx context.Context) ([]openrunner.BuiltImage, error) {
	list, err := r.client.ImageList(ctx, image.ListOptions{Filters: filters.NewArgs(filters.Arg("label", LabelOwner+"="+r.owner))})
	if err != nil {
		return nil, engineError("list images", err)
	}
	seen := map[string]bool{}
	var out []openrunner.BuiltImage
	for _, im := range list {
		rev := im.Labels[openrunner.LabelRevision]
		if rev == "" {
			continue
		}
		for _, tag := range im.RepoTags {
			repo, t, ok := strings.Cut(tag, ":")
			if !ok || !strings.HasPrefix(repo, BuildRepository+"/") {
				continue
			}
			ref := strings.TrimSuffix(repo, "/cache") + ":" + t
			if !seen[ref] {
				seen[ref] = true
				out = append(out, openrunner.BuiltImage{Ref: ref, RevisionID: rev})
			}
		}
	}
	return out, nil
}
