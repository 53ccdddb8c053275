package libs

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
)

// DefaultCache is the ld.so cache that glibc's ld.so reads.
const DefaultCache = "/etc/ld.so.cache"

// ld.so.cache layout, from glibc's sysdeps/generic/dl-cache.h (written by
// ldconfig(8)). Two headers exist:
//
//   - the old "ld.so-1.7.0" format: magic (11 bytes, padded to 12), nlibs
//     (u32), nlibs entries {flags i32, key u32, value u32}, then the string
//     table; string offsets are relative to the end of the entries.
//   - the new "glibc-ld.so.cache1.1" format (glibc 2.32+ writes only this):
//     a 48-byte header {magic[17], version[3], nlibs u32, len_strings u32,
//     flags u8, pad[3], extension_offset u32, unused[3] u32}, then nlibs
//     entries {flags i32, key u32, value u32, osversion u32, hwcap u64};
//     string offsets are relative to this header. An old-format file may
//     embed a new-format one after its entries (aligned to 8 bytes).
const (
	cacheMagicOld   = "ld.so-1.7.0"
	cacheMagicNew   = "glibc-ld.so.cache1.1"
	cacheNewHdrSize = 48
	cacheNewEntSize = 24
	cacheOldEntSize = 12

	cacheEndianLittle = 2 // cache_file_new_flags_endian_little

	cacheExtMagic      = 0xeaa42174 // cache_extension_magic
	cacheExtTagHWCaps  = 1          // cache_extension_tag_glibc_hwcaps
	hwcapExtension     = uint64(1) << 62
	hwcapISALevelMask  = 1<<10 - 1
	hwcapTLS           = uint64(1) << 63
	flagELFLibc6X86_64 = 0x0303 // FLAG_X8664_LIB64 | FLAG_ELF_LIBC6
)

// CacheFlagsX86_64 is the flags value of x86-64 glibc libraries in the
// cache (FLAG_X8664_LIB64|FLAG_ELF_LIBC6); on x86-64 ld.so accepts only
// entries with exactly these flags (_dl_cache_check_flags).
const CacheFlagsX86_64 = 0x0303

// CacheEntry is one entry of an ld.so cache.
type CacheEntry struct {
	Name  string // the key: a soname such as "libc.so.6"
	Path  string // the file ld.so opens
	Flags int32  // FLAG_* bits: type and architecture
	HWCap uint64 // hwcap field (new format only)
	// HWCapsSubdir names the glibc-hwcaps subdirectory (e.g. "x86-64-v3")
	// of an entry whose HWCap has the DL_CACHE_HWCAP_EXTENSION bit.
	HWCapsSubdir string
}

// Cache is a parsed ld.so cache.
type Cache struct {
	Entries []CacheEntry // in file order (sorted by name the way ldconfig sorts)
	byName  map[string][]int
}

// ReadCache reads and parses an ld.so cache file.
func ReadCache(path string) (*Cache, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	c, err := ParseCache(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// ParseCache parses the contents of an ld.so cache in either format.
func ParseCache(b []byte) (*Cache, error) {
	le := binary.LittleEndian
	cstr := func(base []byte, off uint32) (string, error) {
		if uint64(off) >= uint64(len(base)) {
			return "", fmt.Errorf("string offset %d out of range", off)
		}
		s := base[off:]
		i := bytes.IndexByte(s, 0)
		if i < 0 {
			return "", fmt.Errorf("unterminated string at offset %d", off)
		}
		return string(s[:i]), nil
	}
	c := &Cache{byName: map[string][]int{}}
	add := func(e CacheEntry) {
		c.byName[e.Name] = append(c.byName[e.Name], len(c.Entries))
		c.Entries = append(c.Entries, e)
	}

	newOff := -1
	switch {
	case bytes.HasPrefix(b, []byte(cacheMagicNew)):
		newOff = 0
	case bytes.HasPrefix(b, []byte(cacheMagicOld)):
		if len(b) < 16 {
			return nil, errors.New("truncated ld.so cache header")
		}
		nlibs := uint64(le.Uint32(b[12:]))
		end := 16 + nlibs*cacheOldEntSize
		if end > uint64(len(b)) {
			return nil, fmt.Errorf("ld.so cache claims %d entries, file has %d bytes", nlibs, len(b))
		}
		if align := (end + 7) &^ 7; align+cacheNewHdrSize <= uint64(len(b)) && bytes.HasPrefix(b[align:], []byte(cacheMagicNew)) {
			newOff = int(align)
			break
		}
		// Old format alone.
		strs := b[end:]
		for i := uint64(0); i < nlibs; i++ {
			e := b[16+i*cacheOldEntSize:]
			name, err := cstr(strs, le.Uint32(e[4:]))
			if err != nil {
				return nil, err
			}
			path, err := cstr(strs, le.Uint32(e[8:]))
			if err != nil {
				return nil, err
			}
			add(CacheEntry{Name: name, Path: path, Flags: int32(le.Uint32(e[0:]))})
		}
		return c, nil
	default:
		return nil, errors.New("not an ld.so cache (bad magic)")
	}

	nb := b[newOff:]
	if len(nb) < cacheNewHdrSize {
		return nil, errors.New("truncated ld.so cache header")
	}
	nlibs := uint64(le.Uint32(nb[20:]))
	if (uint64(len(nb))-cacheNewHdrSize)/cacheNewEntSize < nlibs {
		return nil, fmt.Errorf("ld.so cache claims %d entries, file has %d bytes", nlibs, len(b))
	}
	if fl := nb[28]; fl != 0 && fl&3 != cacheEndianLittle {
		return nil, fmt.Errorf("ld.so cache is not little-endian (flags %#x)", fl)
	}
	// glibc-hwcaps subdirectory names (extension section), indexed by the
	// low 32 bits of hwcap. Extension offsets are file offsets.
	var hwcaps []string
	if extOff := uint64(le.Uint32(nb[32:])); extOff != 0 {
		names, err := cacheHWCaps(b, extOff)
		if err != nil {
			return nil, err
		}
		hwcaps = names
	}
	for i := uint64(0); i < nlibs; i++ {
		e := nb[cacheNewHdrSize+i*cacheNewEntSize:]
		name, err := cstr(nb, le.Uint32(e[4:]))
		if err != nil {
			return nil, err
		}
		path, err := cstr(nb, le.Uint32(e[8:]))
		if err != nil {
			return nil, err
		}
		ce := CacheEntry{Name: name, Path: path, Flags: int32(le.Uint32(e[0:])), HWCap: le.Uint64(e[16:])}
		if isHWCapExtension(ce.HWCap) {
			if idx := uint32(ce.HWCap); int(idx) < len(hwcaps) {
				ce.HWCapsSubdir = hwcaps[idx]
			}
		}
		add(ce)
	}
	return c, nil
}

// isHWCapExtension reports whether hwcap uses DL_CACHE_HWCAP_EXTENSION
// (dl_cache_hwcap_extension: only that bit set in the upper 32 bits,
// ignoring the ISA level bits).
func isHWCapExtension(hwcap uint64) bool {
	return (hwcap>>32)&^hwcapISALevelMask == hwcapExtension>>32
}

func cacheHWCaps(b []byte, extOff uint64) ([]string, error) {
	le := binary.LittleEndian
	if extOff%4 != 0 || extOff+8 > uint64(len(b)) {
		return nil, fmt.Errorf("bad ld.so cache extension offset %d", extOff)
	}
	if le.Uint32(b[extOff:]) != cacheExtMagic {
		return nil, errors.New("bad ld.so cache extension magic")
	}
	count := uint64(le.Uint32(b[extOff+4:]))
	if extOff+8+count*16 > uint64(len(b)) {
		return nil, errors.New("ld.so cache extension directory beyond the end of the file")
	}
	var names []string
	for i := uint64(0); i < count; i++ {
		s := b[extOff+8+i*16:]
		tag, off, size := le.Uint32(s), uint64(le.Uint32(s[8:])), uint64(le.Uint32(s[12:]))
		if off+size > uint64(len(b)) {
			return nil, errors.New("ld.so cache extension section beyond the end of the file")
		}
		if tag != cacheExtTagHWCaps || off%4 != 0 || size%4 != 0 {
			continue
		}
		names = names[:0]
		for j := uint64(0); j < size; j += 4 {
			so := uint64(le.Uint32(b[off+j:]))
			if so >= uint64(len(b)) {
				return nil, fmt.Errorf("hwcaps name offset %d out of range", so)
			}
			k := bytes.IndexByte(b[so:], 0)
			if k < 0 {
				return nil, errors.New("unterminated hwcaps name")
			}
			names = append(names, string(b[so:so+uint64(k)]))
		}
	}
	return names, nil
}

// Lookup returns the path ld.so takes from the cache for name, or "" when
// the cache has no usable entry. It follows glibc's search_cache
// (elf/dl-cache.c) for x86-64: only entries with flags CacheFlagsX86_64
// count; an entry of a glibc-hwcaps subdirectory is usable when that
// subdirectory is in hwcaps (highest priority first) and the best one wins;
// otherwise the first plain entry. Entries of legacy hwcaps subdirectories
// (other than "tls") are never used: the guest's CPU is not known here.
func (c *Cache) Lookup(name string, hwcaps []string) string {
	if c == nil {
		return ""
	}
	best, bestPrio := "", 0
	for _, i := range c.byName[name] {
		e := &c.Entries[i]
		if e.Flags != flagELFLibc6X86_64 {
			continue
		}
		if isHWCapExtension(e.HWCap) {
			prio := 0
			for j, h := range hwcaps {
				if h == e.HWCapsSubdir {
					prio = j + 1
					break
				}
			}
			if prio == 0 {
				continue
			}
			if best == "" || prio < bestPrio {
				best, bestPrio = e.Path, prio
			}
			continue
		}
		if best != "" {
			break // named hwcaps entries come first; keep the best one
		}
		if e.HWCap&^hwcapTLS != 0 {
			continue // legacy hwcap subdirectory
		}
		return e.Path
	}
	return best
}
