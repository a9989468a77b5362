package process

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/openrunner/openrunner"
)

// imageCache is what EnsureImage last found at a ref.
type imageCache struct {
	id      string
	size    int64
	modTime time.Time
}

// artifact is a resolved image reference.
type artifact struct {
	path  string // absolute, cleaned
	isDir bool
}

// parseRef returns the artifact an image reference names. A reference is
// an absolute path, or a file URL of one ("file:///srv/build/app"), naming
// either an executable file or a directory. Returns EINVALID for anything
// else, or when nothing usable is there.
func parseRef(ref string) (artifact, error) {
	p := ref
	if strings.HasPrefix(ref, "file:") {
		u, err := url.Parse(ref)
		if err != nil || (u.Host != "" && u.Host != "localhost") || u.RawQuery != "" || u.Fragment != "" {
			return artifact{}, openrunner.Errorf(openrunner.EINVALID, "image %s is not a file URL of a local path such as file:///srv/app", ref)
		}
		p = u.Path
	}
	if !filepath.IsAbs(p) {
		return artifact{}, openrunner.Errorf(openrunner.EINVALID, "image %s is not an absolute path or file:// URL: the process runtime runs local artifacts (a binary or a directory) and source-code builds, not container images; run OpenRunner with a Docker engine (--runtime docker) for image services", ref)
	}
	p = filepath.Clean(p)
	fi, err := os.Stat(p)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return artifact{}, openrunner.Errorf(openrunner.EINVALID, "image %s does not exist", ref)
	case err != nil:
		return artifact{}, openrunner.Errorf(openrunner.EINVALID, "image %s cannot be read: %v", ref, errors.Unwrap(err))
	case fi.IsDir():
		return artifact{path: p, isDir: true}, nil
	case !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0:
		return artifact{}, openrunner.Errorf(openrunner.EINVALID, "image %s is neither a directory nor an executable file", ref)
	}
	return artifact{path: p}, nil
}

// EnsureImage checks that ref names a local artifact and returns its
// content identity: "sha256:" and the hash of the file, or of a directory's
// tree (every regular file's relative path, mode and content, and symbolic
// links' targets, in path order). A ref seen before whose file or directory
// has the same size and modification time is not hashed again unless pull
// is true. The artifact is not copied: StartInstance runs what is at ref
// when it is called. Returns EINVALID, naming ref, if there is no usable
// artifact at ref.
func (r *Runtime) EnsureImage(ctx context.Context, ref string, pull bool, log func(line string)) (openrunner.Image, error) {
	a, err := parseRef(ref)
	if err != nil {
		return openrunner.Image{}, err
	}
	fi, err := os.Stat(a.path)
	if err != nil {
		return openrunner.Image{}, openrunner.Errorf(openrunner.EINVALID, "image %s cannot be read: %v", ref, errors.Unwrap(err))
	}
	// A finished build is identified by its record: hashing its
	// environment (a venv, node_modules) on every resume would be slow.
	if rec, err := r.buildRecordOf(a.path); err != nil {
		return openrunner.Image{}, err
	} else if rec != nil {
		return openrunner.Image{Ref: ref, ID: rec.ID}, nil
	}
	r.mu.Lock()
	c, ok := r.images[ref]
	r.mu.Unlock()
	// A directory's own size and time change only when entries are added
	// or removed, so a directory is always hashed again.
	if ok && !pull && !a.isDir && c.size == fi.Size() && c.modTime.Equal(fi.ModTime()) {
		return openrunner.Image{Ref: ref, ID: c.id}, nil
	}
	if log != nil {
		log("hashing " + a.path)
	}
	var id string
	if a.isDir {
		id, err = hashDir(ctx, a.path)
	} else {
		id, err = hashFile(a.path)
	}
	if err != nil {
		if ctx.Err() != nil {
			return openrunner.Image{}, ctx.Err()
		}
		return openrunner.Image{}, openrunner.Errorf(openrunner.EINVALID, "image %s cannot be read: %v", ref, err)
	}
	if log != nil {
		log(ref + ": " + id)
	}
	r.mu.Lock()
	r.images[ref] = imageCache{id: id, size: fi.Size(), modTime: fi.ModTime()}
	r.mu.Unlock()
	return openrunner.Image{Ref: ref, ID: id}, nil
}

func hashFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}

// hashDir hashes the tree under root in a stable order.
func hashDir(ctx context.Context, root string) (string, error) {
	type entry struct {
		rel  string
		mode fs.FileMode
	}
	var entries []entry
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if p == root {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		entries = append(entries, entry{filepath.ToSlash(rel), fi.Mode()})
		return nil
	})
	if err != nil {
		return "", err
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].rel < entries[j].rel })
	h := sha256.New()
	for _, e := range entries {
		p := filepath.Join(root, filepath.FromSlash(e.rel))
		var content string
		switch {
		case e.mode.IsRegular():
			if content, err = hashFile(p); err != nil {
				return "", err
			}
		case e.mode&fs.ModeSymlink != 0:
			if content, err = os.Readlink(p); err != nil {
				return "", err
			}
		}
		// Lengths first, so that no two trees write the same bytes.
		fmt.Fprintf(h, "%d:%s %o %d:%s\n", len(e.rel), e.rel, uint32(e.mode), len(content), content)
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}
