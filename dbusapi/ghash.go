package dbusapi

// GDBus lists the children of an object path in the order of two GLib hash
// tables: the connection's table of exported object paths, walked bucket by
// bucket, feeds a fresh set of child names, whose keys come out in reverse
// bucket order (g_hash_table_get_keys prepends). To print the same
// <node name=.../> order as keepalived, strTable reproduces GLib 2.74's
// GHashTable placement (ghash.c): g_str_hash, the index (hash*11) % prime,
// quadratic probing, tombstones, and the in-place resize with its eviction
// chains. Only the behaviour is ported; the code is ours.

const (
	unusedHash    = 0
	tombstoneHash = 1
	minShift      = 3
)

// primeMod is the first prime below each power of two (ghash.c prime_mod).
var primeMod = [...]uint32{1, 2, 3, 7, 13, 31, 61, 127, 251, 509, 1021, 2039, 4093, 8191,
	16381, 32749, 65521, 131071, 262139, 524287, 1048573, 2097143, 4194301, 8388593,
	16777213, 33554393, 67108859, 134217689, 268435399, 536870909, 1073741789, 2147483647}

// gStrHash is g_str_hash: djb2 over signed chars.
func gStrHash(s string) uint32 {
	h := uint32(5381)
	for i := 0; i < len(s); i++ {
		h = h<<5 + h + uint32(int32(int8(s[i])))
	}
	return h
}

type strTable struct {
	hashes    []uint32
	keys      []string
	mod, mask uint32
	nnodes    int
	noccupied int
}

func newStrTable() *strTable {
	t := &strTable{}
	size := t.setShift(minShift)
	t.hashes = make([]uint32, size)
	t.keys = make([]string, size)
	return t
}

func (t *strTable) setShift(shift int) int {
	size := 1 << shift
	t.mod = primeMod[shift]
	t.mask = uint32(size - 1)
	return size
}

func (t *strTable) size() int { return len(t.hashes) }

func (t *strTable) index(hash uint32) uint32 { return (hash * 11) % t.mod }

// lookup is g_hash_table_lookup_node: the key's bucket, or where it would go.
func (t *strTable) lookup(key string) (uint32, uint32) {
	hash := gStrHash(key)
	if hash < 2 {
		hash = 2
	}
	i := t.index(hash)
	var tomb uint32
	haveTomb := false
	for step := uint32(0); t.hashes[i] != unusedHash; {
		if t.hashes[i] == hash && t.keys[i] == key {
			return i, hash
		}
		if t.hashes[i] == tombstoneHash && !haveTomb {
			tomb, haveTomb = i, true
		}
		step++
		i = (i + step) & t.mask
	}
	if haveTomb {
		return tomb, hash
	}
	return i, hash
}

func (t *strTable) has(key string) bool {
	i, _ := t.lookup(key)
	return t.hashes[i] >= 2
}

// insert adds key (g_hash_table_insert of a new key; an existing key keeps
// its bucket).
func (t *strTable) insert(key string) {
	i, hash := t.lookup(key)
	old := t.hashes[i]
	if old >= 2 {
		return
	}
	t.hashes[i] = hash
	t.keys[i] = key
	t.nnodes++
	if old == unusedHash {
		t.noccupied++
		t.maybeResize()
	}
}

// remove is g_hash_table_remove: a tombstone, then maybe a resize.
func (t *strTable) remove(key string) bool {
	i, _ := t.lookup(key)
	if t.hashes[i] < 2 {
		return false
	}
	t.hashes[i] = tombstoneHash
	t.keys[i] = ""
	t.nnodes--
	t.maybeResize()
	return true
}

func (t *strTable) maybeResize() {
	size := t.size()
	if size > t.nnodes*4 && size > 1<<minShift || size <= t.noccupied+t.noccupied/16 {
		t.resize()
	}
}

// resize is g_hash_table_resize: the new size from nnodes*1.333, then every
// live entry moved in place to its first free slot, evicting and re-placing
// whatever sat there.
func (t *strTable) resize() {
	oldSize := t.size()
	n := int(float64(t.nnodes) * 1.333)
	shift := 0
	for ; n != 0; shift++ {
		n >>= 1
	}
	if shift < minShift {
		shift = minShift
	}
	newSize := t.setShift(shift)
	if newSize > oldSize {
		h := make([]uint32, newSize)
		copy(h, t.hashes)
		t.hashes = h
		k := make([]string, newSize)
		copy(k, t.keys)
		t.keys = k
	}
	placed := make([]bool, max(newSize, oldSize))
	for i := 0; i < oldSize; i++ {
		hash := t.hashes[i]
		if hash < 2 {
			t.hashes[i] = unusedHash
			continue
		}
		if placed[i] {
			continue
		}
		t.hashes[i] = unusedHash
		key := t.keys[i]
		t.keys[i] = ""
		for {
			j := t.index(hash)
			for step := uint32(0); placed[j]; {
				step++
				j = (j + step) & t.mask
			}
			placed[j] = true
			replaced := t.hashes[j]
			t.hashes[j] = hash
			if replaced < 2 {
				t.keys[j] = key
				break
			}
			hash = replaced
			key, t.keys[j] = t.keys[j], key
		}
	}
	if newSize < oldSize {
		t.hashes = t.hashes[:newSize]
		t.keys = t.keys[:newSize]
	}
	t.noccupied = t.nnodes
}

// each visits the keys in bucket order (g_hash_table_iter_next).
func (t *strTable) each(fn func(string)) {
	for i, h := range t.hashes {
		if h >= 2 {
			fn(t.keys[i])
		}
	}
}

// keysList is g_hash_table_get_keys: reverse bucket order.
func (t *strTable) keysList() []string {
	var out []string
	t.each(func(k string) { out = append(out, k) })
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out
}
