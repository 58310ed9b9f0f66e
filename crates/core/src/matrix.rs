//! The user-item confidence matrix: CSR over [`sprs`], rows = users, columns = items.
//!
//! Column indices are `u32` (item and user ids are `u32`), row pointers `usize`: half
//! the index memory of `sprs::CsMat<f32>` and no limit on the number of non-zeros.

use std::io::{self, Read, Write};

use sprs::CsMatI;
use thiserror::Error;

use crate::{ItemId, UserId};

/// The sprs matrix type behind [`UserItemMatrix`] and [`ItemUserMatrix`].
pub type Csr = CsMatI<f32, u32, usize>;

/// Errors from building, reading or writing a user-item matrix.
#[derive(Debug, Error)]
pub enum MatrixError {
    /// A triple names a row or column outside the declared shape.
    #[error("{kind} id {id} is outside the matrix's {len} {kind}s")]
    IdOutOfRange {
        kind: &'static str,
        id: u32,
        len: usize,
    },
    /// A dimension that `u32` ids cannot index.
    #[error("{kind} dimension {len} is larger than u32 ids allow ({max})", max = u32::MAX)]
    TooLarge { kind: &'static str, len: u64 },
    /// The stream does not start with the matrix file magic.
    #[error("not a clickrec CSR matrix: the file starts with {found:?}, expected {expected:?}", expected = MATRIX_MAGIC)]
    BadMagic { found: [u8; 8] },
    /// A matrix file written by a newer (or unknown) format version.
    #[error("CSR matrix format version {found} is not supported (this build reads version {supported})", supported = MATRIX_FORMAT_VERSION)]
    UnsupportedVersion { found: u32 },
    /// The stream ended before the section that was being read was complete.
    #[error("CSR matrix file is truncated: it ends inside the {section}")]
    Truncated { section: &'static str },
    /// Row pointers, indices or values that do not form a valid CSR matrix.
    #[error("CSR matrix is inconsistent: {0}")]
    Inconsistent(String),
    /// Reading or writing failed for another reason.
    #[error("CSR matrix I/O failed: {0}")]
    Io(#[from] io::Error),
}

/// First bytes of every matrix file.
pub const MATRIX_MAGIC: [u8; 8] = *b"CLKRCSR\0";
/// The binary format version written by [`UserItemMatrix::write_to`].
pub const MATRIX_FORMAT_VERSION: u32 = 1;

/// Implicit-feedback confidences: row `u` holds the items user `u` interacted with in
/// increasing item order, each with its summed confidence. Users without events have
/// empty rows, so row indices are exactly the dense [`UserId`]s of the event log.
#[derive(Clone, Debug, PartialEq)]
pub struct UserItemMatrix {
    csr: Csr,
}

/// The transpose of a [`UserItemMatrix`]: row `i` holds the users of item `i`, for
/// item-side steps (item-kNN similarities, the item half of ALS).
#[derive(Clone, Debug, PartialEq)]
pub struct ItemUserMatrix {
    csr: Csr,
}

impl UserItemMatrix {
    /// Builds the matrix from `(user, item, weight)` triples in any order, summing the
    /// weights of repeated `(user, item)` pairs (in input order, so sums are reproducible).
    pub fn from_triples(
        n_users: usize,
        n_items: usize,
        triples: impl IntoIterator<Item = (UserId, ItemId, f32)>,
    ) -> Result<Self, MatrixError> {
        check_dims(n_users, n_items)?;
        let mut rows: Vec<u32> = Vec::new();
        let mut entries: Vec<(u32, f32)> = Vec::new();
        for (user, item, weight) in triples {
            check_id("user", user.0, n_users)?;
            check_id("item", item.0, n_items)?;
            rows.push(user.0);
            entries.push((item.0, weight));
        }
        // Counting sort by row, stable, then a stable sort by item within each row.
        let mut indptr = vec![0usize; n_users + 1];
        for &r in &rows {
            indptr[r as usize + 1] += 1;
        }
        for i in 1..indptr.len() {
            indptr[i] += indptr[i - 1];
        }
        let mut next = indptr.clone();
        let mut sorted = vec![(0u32, 0f32); entries.len()];
        for (&r, &entry) in rows.iter().zip(&entries) {
            let slot = &mut next[r as usize];
            sorted[*slot] = entry;
            *slot += 1;
        }
        drop(entries);
        let mut out_indptr = Vec::with_capacity(n_users + 1);
        out_indptr.push(0);
        let mut indices = Vec::with_capacity(sorted.len());
        let mut data = Vec::with_capacity(sorted.len());
        for w in indptr.windows(2) {
            let row = &mut sorted[w[0]..w[1]];
            row.sort_by_key(|e| e.0);
            push_summed_row(row, &mut indices, &mut data);
            out_indptr.push(indices.len());
        }
        Self::from_csr_parts(n_users, n_items, out_indptr, indices, data)
    }

    /// Wraps raw CSR arrays after checking them: `indptr` has `n_users + 1` non-decreasing
    /// entries from 0 to `nnz`, each row's item indices strictly increase and are below
    /// `n_items`, and every value is finite.
    pub fn from_csr_parts(
        n_users: usize,
        n_items: usize,
        indptr: Vec<usize>,
        indices: Vec<u32>,
        data: Vec<f32>,
    ) -> Result<Self, MatrixError> {
        check_dims(n_users, n_items)?;
        check_csr(n_users, n_items, &indptr, &indices, &data)?;
        let csr = Csr::try_new((n_users, n_items), indptr, indices, data)
            .map_err(|(_, _, _, e)| MatrixError::Inconsistent(e.to_string()))?;
        Ok(UserItemMatrix { csr })
    }

    /// Number of rows (users).
    pub fn n_users(&self) -> usize {
        self.csr.rows()
    }

    /// Number of columns (items).
    pub fn n_items(&self) -> usize {
        self.csr.cols()
    }

    /// Number of stored `(user, item)` entries.
    pub fn nnz(&self) -> usize {
        self.csr.nnz()
    }

    /// The items of `user` (increasing) and their confidences. Panics if `user` is not a
    /// row of this matrix.
    pub fn row(&self, user: UserId) -> (&[u32], &[f32]) {
        row_of(&self.csr, user.0)
    }

    /// The underlying sprs matrix, for numeric kernels.
    pub fn csr(&self) -> &Csr {
        &self.csr
    }

    /// Takes the sprs matrix out.
    pub fn into_csr(self) -> Csr {
        self.csr
    }

    /// The item-major copy (CSR of the transpose), with users increasing in each row.
    pub fn transpose(&self) -> ItemUserMatrix {
        let (indptr, indices, data) = transpose_parts(
            self.n_users(),
            self.n_items(),
            self.csr.indptr().raw_storage(),
            self.csr.indices(),
            self.csr.data(),
        );
        let csr = Csr::try_new((self.n_items(), self.n_users()), indptr, indices, data)
            .map_err(|(_, _, _, e)| e)
            .expect("the transpose of a valid CSR matrix is valid");
        ItemUserMatrix { csr }
    }

    /// Writes the versioned little-endian format: magic `CLKRCSR\0`, `u32` version,
    /// `u64` n_users, n_items, nnz, then `indptr` (`u64` × n_users + 1), `indices`
    /// (`u32` × nnz) and `data` (`f32` × nnz). Wrap files in a `BufWriter`.
    pub fn write_to(&self, out: &mut impl Write) -> Result<(), MatrixError> {
        out.write_all(&MATRIX_MAGIC)?;
        out.write_all(&MATRIX_FORMAT_VERSION.to_le_bytes())?;
        for n in [self.n_users(), self.n_items(), self.nnz()] {
            out.write_all(&(n as u64).to_le_bytes())?;
        }
        write_column(out, self.csr.indptr().raw_storage(), |v| {
            (*v as u64).to_le_bytes()
        })?;
        write_column(out, self.csr.indices(), |v| v.to_le_bytes())?;
        write_column(out, self.csr.data(), |v| v.to_le_bytes())?;
        Ok(())
    }

    /// Reads a matrix written by [`UserItemMatrix::write_to`], checking the header and
    /// the CSR structure. Memory grows with the data actually read, so a corrupt header
    /// cannot make it allocate more than the stream holds.
    pub fn read_from(input: &mut impl Read) -> Result<Self, MatrixError> {
        let mut magic = [0u8; 8];
        read_exact(input, &mut magic, "header")?;
        if magic != MATRIX_MAGIC {
            return Err(MatrixError::BadMagic { found: magic });
        }
        let mut version = [0u8; 4];
        read_exact(input, &mut version, "header")?;
        let version = u32::from_le_bytes(version);
        if version != MATRIX_FORMAT_VERSION {
            return Err(MatrixError::UnsupportedVersion { found: version });
        }
        let mut dims = [0u64; 3];
        for d in &mut dims {
            let mut b = [0u8; 8];
            read_exact(input, &mut b, "header")?;
            *d = u64::from_le_bytes(b);
        }
        let [n_users, n_items, nnz] = dims;
        for (kind, len) in [("user", n_users), ("item", n_items)] {
            if len > u64::from(u32::MAX) {
                return Err(MatrixError::TooLarge { kind, len });
            }
        }
        let nnz = usize::try_from(nnz)
            .map_err(|_| MatrixError::Inconsistent(format!("nnz {nnz} does not fit in memory")))?;
        let (n_users, n_items) = (n_users as usize, n_items as usize);
        let indptr: Vec<u64> = read_column(input, n_users + 1, "indptr", u64::from_le_bytes)?;
        let indptr = indptr
            .into_iter()
            .map(|p| {
                usize::try_from(p).map_err(|_| {
                    MatrixError::Inconsistent(format!("row pointer {p} does not fit in memory"))
                })
            })
            .collect::<Result<Vec<usize>, _>>()?;
        if indptr.last() != Some(&nnz) {
            return Err(MatrixError::Inconsistent(format!(
                "the last row pointer is {:?}, but the header says nnz = {nnz}",
                indptr.last()
            )));
        }
        let indices: Vec<u32> = read_column(input, nnz, "indices", u32::from_le_bytes)?;
        let data: Vec<f32> = read_column(input, nnz, "data", f32::from_le_bytes)?;
        Self::from_csr_parts(n_users, n_items, indptr, indices, data)
    }
}

impl ItemUserMatrix {
    /// Number of rows (items).
    pub fn n_items(&self) -> usize {
        self.csr.rows()
    }

    /// Number of columns (users).
    pub fn n_users(&self) -> usize {
        self.csr.cols()
    }

    /// Number of stored `(item, user)` entries.
    pub fn nnz(&self) -> usize {
        self.csr.nnz()
    }

    /// The users of `item` (increasing) and their confidences. Panics if `item` is not a
    /// row of this matrix.
    pub fn row(&self, item: ItemId) -> (&[u32], &[f32]) {
        row_of(&self.csr, item.0)
    }

    /// The underlying sprs matrix, for numeric kernels.
    pub fn csr(&self) -> &Csr {
        &self.csr
    }

    /// Takes the sprs matrix out.
    pub fn into_csr(self) -> Csr {
        self.csr
    }
}

/// Appends one row, given as `(item, weight)` pairs sorted by item, summing equal items.
/// The sum runs in the order given (f64 accumulation, stored as f32).
fn push_summed_row(row: &[(u32, f32)], indices: &mut Vec<u32>, data: &mut Vec<f32>) {
    let mut i = 0;
    while i < row.len() {
        let item = row[i].0;
        let mut sum = 0f64;
        while i < row.len() && row[i].0 == item {
            sum += f64::from(row[i].1);
            i += 1;
        }
        indices.push(item);
        data.push(sum as f32);
    }
}

/// Columns per bucket of [`transpose_parts`]: a bucket's counters and entries are small
/// enough to stay in cache while they are scattered.
const BUCKET_BITS: u32 = 12;

/// CSR → CSR of the transpose in two stable counting passes: entries first go to
/// buckets of 4096 columns (a few hundred sequential write streams), then each bucket
/// is sorted by column on its own. One direct scatter over all columns would jump
/// across the whole output per entry, which costs a cache and TLB miss each time.
fn transpose_parts(
    n_rows: usize,
    n_cols: usize,
    indptr: &[usize],
    indices: &[u32],
    data: &[f32],
) -> (Vec<usize>, Vec<u32>, Vec<f32>) {
    let nnz = indices.len();
    let n_buckets = (n_cols >> BUCKET_BITS) + 1;
    let mut bucket_ptr = vec![0usize; n_buckets + 1];
    for &c in indices {
        bucket_ptr[(c >> BUCKET_BITS) as usize + 1] += 1;
    }
    for b in 1..bucket_ptr.len() {
        bucket_ptr[b] += bucket_ptr[b - 1];
    }
    // Pass 1: (row, column, value) into column buckets, rows increasing in each.
    let mut next = bucket_ptr.clone();
    let mut staged = vec![(0u32, 0u32, 0f32); nnz];
    for row in 0..n_rows {
        for k in indptr[row]..indptr[row + 1] {
            let c = indices[k];
            let slot = &mut next[(c >> BUCKET_BITS) as usize];
            staged[*slot] = (row as u32, c, data[k]);
            *slot += 1;
        }
    }
    drop(next);
    // Pass 2: within each bucket, a counting sort by column (stable: rows stay increasing).
    let mut out_ptr = vec![0usize; n_cols + 1];
    let mut out_indices = vec![0u32; nnz];
    let mut out_data = vec![0f32; nnz];
    let mut counts = vec![0usize; 1 << BUCKET_BITS];
    for b in 0..n_buckets {
        let first_col = b << BUCKET_BITS;
        let cols = (n_cols - first_col.min(n_cols)).min(1 << BUCKET_BITS);
        let entries = &staged[bucket_ptr[b]..bucket_ptr[b + 1]];
        counts[..cols].fill(0);
        for e in entries {
            counts[e.1 as usize - first_col] += 1;
        }
        let mut at = bucket_ptr[b];
        for (k, count) in counts[..cols].iter_mut().enumerate() {
            out_ptr[first_col + k] = at;
            let start = at;
            at += *count;
            *count = start;
        }
        for e in entries {
            let slot = &mut counts[e.1 as usize - first_col];
            out_indices[*slot] = e.0;
            out_data[*slot] = e.2;
            *slot += 1;
        }
    }
    out_ptr[n_cols] = nnz;
    (out_ptr, out_indices, out_data)
}

fn row_of(csr: &Csr, row: u32) -> (&[u32], &[f32]) {
    let range = csr.indptr().outer_inds_sz(row as usize);
    (&csr.indices()[range.clone()], &csr.data()[range])
}

fn check_dims(n_users: usize, n_items: usize) -> Result<(), MatrixError> {
    for (kind, len) in [("user", n_users), ("item", n_items)] {
        if len > u32::MAX as usize {
            return Err(MatrixError::TooLarge {
                kind,
                len: len as u64,
            });
        }
    }
    Ok(())
}

fn check_id(kind: &'static str, id: u32, len: usize) -> Result<(), MatrixError> {
    if (id as usize) < len {
        Ok(())
    } else {
        Err(MatrixError::IdOutOfRange { kind, id, len })
    }
}

fn check_csr(
    n_users: usize,
    n_items: usize,
    indptr: &[usize],
    indices: &[u32],
    data: &[f32],
) -> Result<(), MatrixError> {
    let bad = |m: String| Err(MatrixError::Inconsistent(m));
    if indptr.len() != n_users + 1 {
        return bad(format!(
            "{} row pointers for {n_users} users (expected {})",
            indptr.len(),
            n_users + 1
        ));
    }
    if indices.len() != data.len() {
        return bad(format!(
            "{} indices but {} values",
            indices.len(),
            data.len()
        ));
    }
    if indptr[0] != 0 {
        return bad(format!(
            "the first row pointer is {}, expected 0",
            indptr[0]
        ));
    }
    if indptr[n_users] != indices.len() {
        return bad(format!(
            "the last row pointer is {}, but there are {} entries",
            indptr[n_users],
            indices.len()
        ));
    }
    for (row, w) in indptr.windows(2).enumerate() {
        if w[0] > w[1] {
            return bad(format!(
                "row pointers decrease at user {row} ({} > {})",
                w[0], w[1]
            ));
        }
        let items = &indices[w[0]..w[1]];
        if let Some(p) = items.windows(2).position(|p| p[0] >= p[1]) {
            return bad(format!(
                "items of user {row} are not strictly increasing ({} then {})",
                items[p],
                items[p + 1]
            ));
        }
        if let Some(&last) = items.last()
            && last as usize >= n_items
        {
            return bad(format!(
                "user {row} has item {last}, outside the {n_items} items"
            ));
        }
    }
    if let Some(p) = data.iter().position(|v| !v.is_finite()) {
        return bad(format!("entry {p} has the non-finite value {}", data[p]));
    }
    Ok(())
}

fn read_exact(
    input: &mut impl Read,
    buf: &mut [u8],
    section: &'static str,
) -> Result<(), MatrixError> {
    input.read_exact(buf).map_err(|e| match e.kind() {
        io::ErrorKind::UnexpectedEof => MatrixError::Truncated { section },
        _ => MatrixError::Io(e),
    })
}

/// Values per read: large enough for throughput, small enough that a corrupt length
/// cannot reserve much memory before the stream runs out.
const CHUNK: usize = 1 << 16;

fn read_column<T, const W: usize>(
    input: &mut impl Read,
    len: usize,
    section: &'static str,
    decode: fn([u8; W]) -> T,
) -> Result<Vec<T>, MatrixError> {
    let mut out = Vec::with_capacity(len.min(CHUNK));
    let mut buf = vec![0u8; W * CHUNK.min(len)];
    let mut left = len;
    while left > 0 {
        let n = left.min(CHUNK);
        let bytes = &mut buf[..n * W];
        read_exact(input, bytes, section)?;
        out.extend(bytes.chunks_exact(W).map(|c| {
            let mut a = [0u8; W];
            a.copy_from_slice(c);
            decode(a)
        }));
        left -= n;
    }
    Ok(out)
}

fn write_column<T, const W: usize>(
    out: &mut impl Write,
    values: &[T],
    encode: impl Fn(&T) -> [u8; W],
) -> Result<(), MatrixError> {
    let mut buf = Vec::with_capacity(W * CHUNK.min(values.len()));
    for chunk in values.chunks(CHUNK) {
        buf.clear();
        for v in chunk {
            buf.extend_from_slice(&encode(v));
        }
        out.write_all(&buf)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;

    fn triples() -> impl Strategy<Value = (usize, usize, Vec<(u32, u32, f32)>)> {
        (1usize..8, 1usize..8).prop_flat_map(|(nu, ni)| {
            let t = proptest::collection::vec((0..nu as u32, 0..ni as u32, 0f32..10.0), 0..40);
            (Just(nu), Just(ni), t)
        })
    }

    fn build(nu: usize, ni: usize, t: &[(u32, u32, f32)]) -> UserItemMatrix {
        UserItemMatrix::from_triples(nu, ni, t.iter().map(|&(u, i, w)| (UserId(u), ItemId(i), w)))
            .unwrap()
    }

    fn bytes(m: &UserItemMatrix) -> Vec<u8> {
        let mut out = Vec::new();
        m.write_to(&mut out).unwrap();
        out
    }

    fn sample() -> UserItemMatrix {
        build(3, 4, &[(0, 1, 1.0), (2, 3, 2.0), (0, 0, 0.5), (0, 1, 2.0)])
    }

    proptest! {
        /// Every cell equals the f64 sum of its triples (dense reference), rows are
        /// sorted, and the transpose holds the same cells.
        #[test]
        fn csr_matches_dense_reference((nu, ni, t) in triples()) {
            let m = build(nu, ni, &t);
            let mut dense = vec![vec![None::<f64>; ni]; nu];
            for &(u, i, w) in &t {
                *dense[u as usize][i as usize].get_or_insert(0.0) += f64::from(w);
            }
            let tr = m.transpose();
            prop_assert_eq!((tr.n_items(), tr.n_users(), tr.nnz()), (ni, nu, m.nnz()));
            for (u, dense_row) in dense.iter().enumerate() {
                let (items, values) = m.row(UserId(u as u32));
                let expected: Vec<(u32, f32)> = dense_row
                    .iter()
                    .enumerate()
                    .filter_map(|(i, v)| v.map(|v| (i as u32, v as f32)))
                    .collect();
                let got: Vec<(u32, f32)> = items.iter().copied().zip(values.iter().copied()).collect();
                prop_assert_eq!(got, expected);
            }
            for i in 0..ni {
                let (users, values) = tr.row(ItemId(i as u32));
                for (&u, &v) in users.iter().zip(values) {
                    prop_assert_eq!(Some(v), dense[u as usize][i].map(|d| d as f32));
                }
                let count = dense.iter().filter(|r| r[i].is_some()).count();
                prop_assert_eq!(users.len(), count);
            }
        }

        /// Wide matrices span several transpose buckets; sprs's own conversion is the
        /// reference.
        #[test]
        fn transpose_matches_sprs(
            nu in 1usize..50,
            ni in prop_oneof![Just(4096usize), Just(8192), 1usize..20_000],
            t in proptest::collection::vec((0u32..50, 0u32..20_000, 0f32..10.0), 0..300),
        ) {
            let t: Vec<_> = t
                .into_iter()
                .map(|(u, i, w)| (u % nu as u32, i % ni as u32, w))
                .collect();
            let m = build(nu, ni, &t);
            let reference: Csr = m.csr().transpose_view().to_csr();
            prop_assert_eq!(m.transpose().into_csr(), reference);
        }

        #[test]
        fn binary_round_trip((nu, ni, t) in triples()) {
            let m = build(nu, ni, &t);
            let back = UserItemMatrix::read_from(&mut bytes(&m).as_slice()).unwrap();
            prop_assert_eq!(back, m);
        }

        /// Cutting the file anywhere is reported as truncation, never a panic.
        #[test]
        fn any_truncation_is_reported((nu, ni, t) in triples(), cut in 0usize..1000) {
            let b = bytes(&build(nu, ni, &t));
            let cut = cut % b.len();
            let err = UserItemMatrix::read_from(&mut &b[..cut]).unwrap_err();
            prop_assert!(matches!(err, MatrixError::Truncated { .. }), "{err}");
        }
    }

    #[test]
    fn rejects_out_of_range_triples() {
        let err = UserItemMatrix::from_triples(2, 2, [(UserId(0), ItemId(2), 1.0)]).unwrap_err();
        assert!(matches!(
            err,
            MatrixError::IdOutOfRange {
                kind: "item",
                id: 2,
                len: 2
            }
        ));
    }

    #[test]
    fn empty_matrix_round_trips() {
        let m = UserItemMatrix::from_triples(0, 0, []).unwrap();
        assert_eq!(m.nnz(), 0);
        let back = UserItemMatrix::read_from(&mut bytes(&m).as_slice()).unwrap();
        assert_eq!(back, m);
    }

    #[test]
    fn bad_magic_and_version_are_named() {
        let mut b = bytes(&sample());
        b[0] = b'X';
        let err = UserItemMatrix::read_from(&mut b.as_slice()).unwrap_err();
        assert!(matches!(err, MatrixError::BadMagic { .. }), "{err}");
        assert!(err.to_string().contains("not a clickrec CSR matrix"));

        let mut b = bytes(&sample());
        b[8..12].copy_from_slice(&2u32.to_le_bytes());
        let err = UserItemMatrix::read_from(&mut b.as_slice()).unwrap_err();
        assert!(
            matches!(err, MatrixError::UnsupportedVersion { found: 2 }),
            "{err}"
        );
    }

    #[test]
    fn truncation_names_the_section() {
        let b = bytes(&sample());
        let err = UserItemMatrix::read_from(&mut &b[..b.len() - 1]).unwrap_err();
        assert!(
            matches!(err, MatrixError::Truncated { section: "data" }),
            "{err}"
        );
        let err = UserItemMatrix::read_from(&mut &b[..10]).unwrap_err();
        assert!(
            matches!(err, MatrixError::Truncated { section: "header" }),
            "{err}"
        );
    }

    /// Offsets of the sections of `sample()` (3 users, nnz 3).
    const HEADER: usize = 8 + 4 + 3 * 8;
    const INDICES: usize = HEADER + 4 * 8;
    const DATA: usize = INDICES + 3 * 4;

    #[test]
    fn inconsistent_contents_are_rejected() {
        let cases: [(usize, Vec<u8>, &str); 5] = [
            // indptr[1] = 3 > indptr[2] = 2: decreasing row pointers
            (HEADER + 8, 3u64.to_le_bytes().to_vec(), "decrease"),
            // second item of user 0 equal to the first: not strictly increasing
            (
                INDICES + 4,
                0u32.to_le_bytes().to_vec(),
                "strictly increasing",
            ),
            // item 9 outside 4 items
            (INDICES + 8, 9u32.to_le_bytes().to_vec(), "outside"),
            (DATA, f32::NAN.to_le_bytes().to_vec(), "non-finite"),
            // last row pointer disagrees with nnz
            (HEADER + 24, 2u64.to_le_bytes().to_vec(), "nnz"),
        ];
        for (offset, patch, needle) in cases {
            let mut b = bytes(&sample());
            b[offset..offset + patch.len()].copy_from_slice(&patch);
            let err = UserItemMatrix::read_from(&mut b.as_slice()).unwrap_err();
            assert!(
                matches!(err, MatrixError::Inconsistent(_)) && err.to_string().contains(needle),
                "{needle}: {err}"
            );
        }
    }

    #[test]
    fn huge_declared_sizes_fail_without_allocating() {
        let mut b = bytes(&sample());
        // claim u32::MAX users: the reader must run out of data, not memory
        b[12..20].copy_from_slice(&u64::from(u32::MAX).to_le_bytes());
        let err = UserItemMatrix::read_from(&mut b.as_slice()).unwrap_err();
        assert!(matches!(err, MatrixError::Truncated { .. }), "{err}");
        b[12..20].copy_from_slice(&u64::MAX.to_le_bytes());
        let err = UserItemMatrix::read_from(&mut b.as_slice()).unwrap_err();
        assert!(
            matches!(err, MatrixError::TooLarge { kind: "user", .. }),
            "{err}"
        );
    }
}
