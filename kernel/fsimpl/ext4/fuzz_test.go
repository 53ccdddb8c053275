package ext4

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
)

// Corrupted images: the reader must answer every call with data or an
// error, never panic or loop.

var (
	fuzzOnce   sync.Once
	fuzzImages [][]byte
	fuzzErr    error
)

// smallImages builds the images the fuzzer damages: 1 KiB blocks, no
// journal, one with metadata_csum (damage is mostly caught by checksums)
// and two without (damage reaches the parsers), one of them with inline
// data and without extents.
func smallImages(t testing.TB) [][]byte {
	needTools(t)
	fuzzOnce.Do(func() {
		dir, err := os.MkdirTemp("", "ext4-fuzz-")
		if err != nil {
			fuzzErr = err
			return
		}
		defer os.RemoveAll(dir)
		src := filepath.Join(dir, "src")
		os.MkdirAll(filepath.Join(src, "d/e"), 0o755)
		os.WriteFile(filepath.Join(src, "small"), []byte("hello"), 0o644)
		os.WriteFile(filepath.Join(src, "d/e/f"), bytes.Repeat([]byte("0123456789"), 700), 0o644)
		f, _ := os.Create(filepath.Join(src, "frag"))
		for i := int64(0); i < 12; i++ {
			f.WriteAt([]byte("piece"), i*5000)
		}
		f.Close()
		os.Symlink("small", filepath.Join(src, "fast"))
		os.Symlink(strings.Repeat("s", 100), filepath.Join(src, "slow"))
		os.Symlink("d/e/f", filepath.Join(src, "d/link"))
		for i := 0; i < 120; i++ {
			os.WriteFile(filepath.Join(src, "d", fmt.Sprintf("name-%03d-%s", i, strings.Repeat("x", i%40))), nil, 0o644)
		}
		for i, opts := range []string{"^has_journal", "^has_journal,^metadata_csum", "^has_journal,^metadata_csum,^extent,^64bit,inline_data"} {
			img := filepath.Join(dir, fmt.Sprintf("%d.img", i))
			buildImageTo(t, img, src, "1M", "-b", "1024", "-N", "200", "-O", opts)
			data, err := os.ReadFile(img)
			if err != nil {
				fuzzErr = err
				return
			}
			fuzzImages = append(fuzzImages, data)
		}
	})
	if fuzzErr != nil {
		t.Fatal(fuzzErr)
	}
	return fuzzImages
}

// walk reads everything reachable in the filesystem, with a budget so that
// a damaged directory graph (a cycle) cannot keep it going.
func walk(f *FS) {
	root, err := f.Root()
	if err != nil {
		return
	}
	seen := map[uint32]bool{}
	queue := []*Inode{root}
	buf := make([]byte, 8192)
	for len(queue) > 0 && len(seen) < 1000 {
		n := queue[0]
		queue = queue[1:]
		if seen[n.Ino()] {
			continue
		}
		seen[n.Ino()] = true
		n.Stat()
		n.Listxattr()
		n.Getxattr("user.x")
		n.Readlink()
		n.ReadAt(buf, 0)
		if n.Size() > int64(len(buf)) {
			n.ReadAt(buf, n.Size()-int64(len(buf))/2)
		}
		ents, _ := n.ReadDir()
		for _, e := range ents {
			c, err := n.Lookup(e.Name)
			if err == nil {
				queue = append(queue, c)
			}
		}
		n.Lookup("no-such-name")
	}
	f.Statfs()
}

// corruptAndWalk applies patches (5 bytes each: a little-endian offset
// into the image and a byte to XOR there) to image i and walks the result.
func corruptAndWalk(t testing.TB, images [][]byte, which byte, patches []byte) {
	img := append([]byte(nil), images[int(which)%len(images)]...)
	for len(patches) >= 5 {
		off := binary.LittleEndian.Uint32(patches) % uint32(len(img))
		img[off] ^= patches[4]
		patches = patches[5:]
	}
	f, err := Open(NewDevice(bytes.NewReader(img), int64(len(img))))
	if err != nil {
		var ce *CorruptError
		var ue *UnsupportedError
		if !errors.As(err, &ce) && !errors.As(err, &ue) {
			t.Fatalf("Open: unexpected error type %T: %v", err, err)
		}
		if !errors.Is(err, syscall.EIO) && !errors.Is(err, syscall.EINVAL) {
			t.Fatalf("Open: %v is neither EIO nor EINVAL", err)
		}
		return
	}
	walk(f)
}

func FuzzImage(f *testing.F) {
	images := smallImages(f)
	f.Add(byte(0), []byte{})
	f.Add(byte(1), []byte{0x00, 0x04, 0, 0, 0xff}) // the superblock's first byte
	f.Add(byte(2), []byte{0x60, 0x04, 0, 0, 0x40}) // s_feature_incompat
	f.Add(byte(1), []byte{0x00, 0x08, 0, 0, 0x01}) // the group descriptors
	f.Fuzz(func(t *testing.T, which byte, patches []byte) {
		corruptAndWalk(t, images, which, patches)
	})
}

// TestCorruptImages runs a fixed set of random corruptions of every image
// (bytes flipped in the first 64 KiB, where the metadata is, and all over).
func TestCorruptImages(t *testing.T) {
	images := smallImages(t)
	for i := range images {
		walk(openBytes(t, images[i])) // the intact images walk cleanly
	}
	rng := rand.New(rand.NewSource(2))
	iters := 3000
	if testing.Short() {
		iters = 300
	}
	for it := 0; it < iters; it++ {
		var patches []byte
		for k := 0; k < 1+rng.Intn(8); k++ {
			var p [5]byte
			limit := uint32(64 << 10)
			if rng.Intn(4) == 0 {
				limit = 1 << 20
			}
			binary.LittleEndian.PutUint32(p[:], rng.Uint32()%limit)
			p[4] = byte(1 << rng.Intn(8))
			if rng.Intn(3) == 0 {
				p[4] = byte(rng.Intn(255) + 1)
			}
			patches = append(patches, p[:]...)
		}
		corruptAndWalk(t, images, byte(it), patches)
	}
}

func openBytes(t testing.TB, data []byte) *FS {
	f, err := Open(NewDevice(bytes.NewReader(data), int64(len(data))))
	if err != nil {
		t.Fatal(err)
	}
	return f
}
