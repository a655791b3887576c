/* The training kernels: one source for OpenCL C and CUDA C.

   Written in the common subset of the two languages against the names of a small preamble
   (preamble.opencl.h, preamble.cuda.h): KERNEL, GLOBAL, LOCAL, RESTRICT, DEVICE_FN, GROUP_ID,
   LOCAL_ID, INSTANCE_GROUP, BARRIER, FADD/FSUB/FMUL/FDIV/FSQRT/FMA, MUL_HI, FLOAT_BITS,
   ATOMIC_CAS_U32, u32, u64. Every float operation of the training path is one of those macros, a
   compare/select, a negation or an integer-to-float conversion below 2^24, so neither compiler can
   contract, reassociate or approximate it.

   Bits: every output is computed in the reference backend's order (docs/numerics.md). Matrix
   products are serial-k chains (acc = +0, then acc = FMA(a_k, b_k, acc) for k ascending), each
   chain owned by one work-item from start to end; the tiled decoder product stores the chain in
   registers across its k-tiles, ascending. Sparse products skip exactly the terms the reference
   skips (x = 0, g_z = 0), walking index lists built on the device in ascending order. Scalar sums
   use R32 (32 lanes, then the halving tree). No float atomics; the only atomic is an integer
   compare-and-swap that records the first non-finite step. Results depend on no work-group size,
   device or schedule: the group sizes below are performance choices and the host launches with
   exactly these values (KernelSource.cs holds the same numbers and a test checks they agree).

   Layout on the device (DeviceLayout.cs): each instance's parameter block holds the encoder
   transposed, W_in^T (or W^T when tied) as n x m, then W_out (n x m), then b (n). Both weight
   matrices are thus feature-major [i][j]: the work-items of a group, consecutive in j, read and
   write consecutive addresses in every kernel below. Activations are [instance][batch][width].

   Indices are u32: the engine never allocates a buffer of 2^31 elements or more
   (AutoencoderConfig.MaxBufferElements), so no offset below can overflow.

   Launch shape: a 2D grid of 1D groups. Dimension 0 counts groups within one instance (never more
   than 2^31 - 1); dimension 1 is the instance, offset by the firstInstance argument, so a runtime
   whose grid dimension 1 is small (CUDA: 65535) launches large instance counts in chunks.

   Tiling and group sizes, and why:
   - Decoder product z = h W_out^T + b (the one dense product, B x n x m): DECODER_TILE_ROWS x
     DECODER_TILE_FEATURES = 128 x 128 outputs per group of 256 work-items (16 x 16), each owning an
     8 x 8 register block, with k-tiles of DECODER_TILE_K = 8 staged in local memory. 128 x 128 x 8
     is the classic register-blocked SGEMM shape for GPUs with 64-256 KiB of local memory per
     multiprocessor: 8 KiB of tiles per group, 16 loads from local memory per 64 FMAs, enough
     groups for a full machine at the benchmark sizes (B 1024 x n 4096: 256 groups). A work-item's
     8 rows are ty + 16 t and its 8 features tx + 16 u, so local-memory reads are conflict-free or
     broadcast and global stores are 16 consecutive floats. The h tile's rows are padded by 4 floats
     so that the transposing stores do not collide on banks. Out-of-range rows and features are
     computed from zeros and discarded; the last k-tile runs only over the valid k, so no padded
     term enters a chain (FMA(0, 0, -0) would turn -0 into +0).
   - Sparse products (encoder, g_h, weight gradients): one work-item per output element, groups of
     GROUP_SIZE = 256 consecutive outputs along j: the index list is a broadcast read and the dense
     operand a coalesced one.
   - Row lists (COMPACT_GROUP = 256 work-items per row): each work-item owns a contiguous slice of
     the row, counts its nonzeros, a local prefix sum gives its write offset, and it writes its
     indices in order, so the list is ascending without sorting.
   - Column lists (COLUMN_TILE = 32 columns x COLUMN_SLICES = 8 row slices per group): 32 columns
     make coalesced 128-byte row reads; 8 contiguous row slices per column add parallelism for the
     small column counts of the benchmark sizes, joined by a prefix over the 8 slice counts.
   - Loss: one group of exactly R32_LANES = 32 work-items per row; work-item j is R32's lane j
     (elements j, j + 32, ... in order), then the fixed halving tree in local memory. */

#define GROUP_SIZE 256
#define DECODER_TILE_ROWS 128
#define DECODER_TILE_FEATURES 128
#define DECODER_TILE_K 8
#define DECODER_THREADS_ROWS 16
#define DECODER_THREADS_FEATURES 16
#define DECODER_BLOCK_ROWS (DECODER_TILE_ROWS / DECODER_THREADS_ROWS)
#define DECODER_BLOCK_FEATURES (DECODER_TILE_FEATURES / DECODER_THREADS_FEATURES)
#define DECODER_ROW_PAD 4
#define COMPACT_GROUP 256
#define COLUMN_TILE 32
#define COLUMN_SLICES 8
#define R32_LANES 32

/* firstNonFinite[s] while instance s has stayed finite. Steps are below 2^32 - 1. */
#define NO_STEP 0xFFFFFFFFu

/* ---------------------------------------------------------------------------------------------
   Data stream v1 (DESIGN section 4): Philox4x32-10 (Salmon et al. 2011, "Parallel Random Numbers:
   As Easy as 1, 2, 3"), with (hi, lo) of the 32 x 32 -> 64-bit products from MUL_HI and the
   wrapping u32 product. */

typedef struct { u32 w0, w1, w2, w3; } PhiloxWords;

DEVICE_FN PhiloxWords philox(u32 c0, u32 c1, u32 c2, u32 c3, u32 k0, u32 k1)
{
    for (int round = 0; round < 10; ++round)
    {
        if (round > 0) { k0 += 0x9E3779B9u; k1 += 0xBB67AE85u; }
        u32 hi0 = MUL_HI(0xD2511F53u, c0), lo0 = 0xD2511F53u * c0;
        u32 hi1 = MUL_HI(0xCD9E8D57u, c2), lo1 = 0xCD9E8D57u * c2;
        c0 = hi1 ^ c1 ^ k0;
        c1 = lo1;
        c2 = hi0 ^ c3 ^ k1;
        c3 = lo0;
    }
    PhiloxWords words = { c0, c1, c2, c3 };
    return words;
}

/* x of samples firstSample .. firstSample + rows - 1 of one step: one work-item per block of 4
   features (one mask draw), rows x ceil(n / 4) per instance.
   keys: [instances][2] (seed mod 2^32, seed >> 32); thresholds: [instances] floor(p 2^32).
   x: [instances][batch][n]. */
KERNEL void generate_batch(u32 firstInstance, GLOBAL float* RESTRICT x, GLOBAL const u32* RESTRICT keys,
    GLOBAL const u64* RESTRICT thresholds, u32 n, u32 batch, u32 rows, u32 step, u32 firstSample, u32 maskStream,
    u32 valueStream)
{
    u32 s = firstInstance + (u32)INSTANCE_GROUP;
    u32 blocks = (n + 3) / 4;
    u32 g = (u32)GROUP_ID * GROUP_SIZE + (u32)LOCAL_ID;
    if (g >= rows * blocks) return;
    u32 r = g / blocks, q = g % blocks;
    u32 k0 = keys[2 * s], k1 = keys[2 * s + 1];
    u64 threshold = thresholds[s];
    u32 sample = firstSample + r;
    PhiloxWords mask = philox(q, sample, step, maskStream, k0, k1);
    u32 words[4] = { mask.w0, mask.w1, mask.w2, mask.w3 };
    GLOBAL float* row = x + (s * batch + r) * n;
    for (u32 k = 0; k < 4; ++k)
    {
        u32 i = 4 * q + k;
        if (i >= n) break;
        float value = 0.0f;
        if ((u64)words[k] < threshold)
            value = FMUL((float)(philox(i, sample, step, valueStream, k0, k1).w0 >> 8), 1.0f / 16777216.0f); /* exact */
        row[i] = value;
    }
}

/* ---------------------------------------------------------------------------------------------
   Index lists. */

/* Per row, the ascending indices of its nonzero entries (NaN counts as nonzero, as in the
   reference): one group of COMPACT_GROUP work-items per row, each owning a contiguous slice.
   values: [instances][batch][width]; index: same shape (u32); count: [instances][batch]. */
KERNEL void compact_rows(u32 firstInstance, GLOBAL const float* RESTRICT values, GLOBAL u32* RESTRICT index,
    GLOBAL u32* RESTRICT count, u32 width, u32 batch)
{
    LOCAL u32 scan[COMPACT_GROUP];
    u32 s = firstInstance + (u32)INSTANCE_GROUP;
    u32 r = (u32)GROUP_ID, lid = (u32)LOCAL_ID;
    u32 rowStart = (s * batch + r) * width;
    GLOBAL const float* row = values + rowStart;
    u32 slice = (width + COMPACT_GROUP - 1) / COMPACT_GROUP;
    u32 begin = lid * slice < width ? lid * slice : width;
    u32 end = begin + slice < width ? begin + slice : width;

    u32 mine = 0;
    for (u32 e = begin; e < end; ++e) mine += row[e] != 0.0f ? 1u : 0u;
    scan[lid] = mine;
    BARRIER;
    for (u32 offset = 1; offset < COMPACT_GROUP; offset <<= 1)
    {
        u32 add = lid >= offset ? scan[lid - offset] : 0u;
        BARRIER;
        scan[lid] += add;
        BARRIER;
    }
    u32 at = scan[lid] - mine;
    GLOBAL u32* out = index + rowStart;
    for (u32 e = begin; e < end; ++e)
        if (row[e] != 0.0f) out[at++] = e;
    if (lid == COMPACT_GROUP - 1) count[s * batch + r] = scan[lid];
}

/* Per column i, the ascending rows r < rows whose entry is nonzero: COLUMN_TILE columns per group,
   each split into COLUMN_SLICES contiguous row slices.
   values: [instances][batch][width]; index: [instances][width][batch] (u32); count: [instances][width]. */
KERNEL void compact_columns(u32 firstInstance, GLOBAL const float* RESTRICT values, GLOBAL u32* RESTRICT index,
    GLOBAL u32* RESTRICT count, u32 width, u32 batch, u32 rows)
{
    LOCAL u32 counts[COLUMN_SLICES][COLUMN_TILE];
    u32 s = firstInstance + (u32)INSTANCE_GROUP;
    u32 lid = (u32)LOCAL_ID;
    u32 c = lid % COLUMN_TILE, y = lid / COLUMN_TILE;
    u32 i = (u32)GROUP_ID * COLUMN_TILE + c;
    bool inside = i < width;
    u32 slice = (rows + COLUMN_SLICES - 1) / COLUMN_SLICES;
    u32 begin = y * slice < rows ? y * slice : rows;
    u32 end = begin + slice < rows ? begin + slice : rows;
    GLOBAL const float* column = values + s * batch * width + i;

    u32 mine = 0;
    if (inside)
        for (u32 r = begin; r < end; ++r) mine += column[r * width] != 0.0f ? 1u : 0u;
    counts[y][c] = mine;
    BARRIER;
    if (!inside) return;
    u32 at = 0;
    for (u32 before = 0; before < y; ++before) at += counts[before][c];
    GLOBAL u32* out = index + (s * width + i) * batch;
    for (u32 r = begin; r < end; ++r)
        if (column[r * width] != 0.0f) out[at++] = r;
    if (y == COLUMN_SLICES - 1) count[s * width + i] = at;
}

/* ---------------------------------------------------------------------------------------------
   Forward. */

/* h[r][j] = serial-k over the nonzero x[r][i], i ascending, of FMA(W_in[j][i], x[r][i], acc).
   One work-item per (r, j), rows x m per instance. */
KERNEL void encoder_forward(u32 firstInstance, GLOBAL const float* RESTRICT parameters, GLOBAL const float* RESTRICT x,
    GLOBAL const u32* RESTRICT xRowIndex, GLOBAL const u32* RESTRICT xRowCount, GLOBAL float* RESTRICT h,
    u32 n, u32 m, u32 batch, u32 rows, u32 instanceParameters)
{
    u32 s = firstInstance + (u32)INSTANCE_GROUP;
    u32 g = (u32)GROUP_ID * GROUP_SIZE + (u32)LOCAL_ID;
    if (g >= rows * m) return;
    u32 r = g / m, j = g % m;
    u32 row = s * batch + r;
    GLOBAL const float* wInT = parameters + s * instanceParameters;   /* [n][m] */
    GLOBAL const float* xr = x + row * n;
    GLOBAL const u32* active = xRowIndex + row * n;
    u32 count = xRowCount[row];
    float acc = 0.0f;
    for (u32 c = 0; c < count; ++c)
    {
        u32 i = active[c];
        acc = FMA(wInT[i * m + j], xr[i], acc);
    }
    h[row * m + j] = acc;
}

/* z[r][i] = (serial-k over j ascending of FMA(W_out[i][j], h[r][j], acc)) + b[i], the bias add a
   separate rounded operation. Dense, tiled: see the header for the tile shape. Groups: the tiles
   of rows x n, feature tiles fastest. */
KERNEL void decoder_forward(u32 firstInstance, GLOBAL const float* RESTRICT parameters, GLOBAL const float* RESTRICT h,
    GLOBAL float* RESTRICT z, u32 n, u32 m, u32 batch, u32 rows, u32 instanceParameters, u32 decoderOffset,
    u32 biasOffset, u32 hasBias)
{
    LOCAL float hTile[DECODER_TILE_K][DECODER_TILE_ROWS + DECODER_ROW_PAD];
    LOCAL float wTile[DECODER_TILE_K][DECODER_TILE_FEATURES];
    u32 s = firstInstance + (u32)INSTANCE_GROUP;
    u32 lid = (u32)LOCAL_ID;
    u32 tx = lid % DECODER_THREADS_FEATURES, ty = lid / DECODER_THREADS_FEATURES;
    u32 featureTiles = (n + DECODER_TILE_FEATURES - 1) / DECODER_TILE_FEATURES;
    u32 firstRow = ((u32)GROUP_ID / featureTiles) * DECODER_TILE_ROWS;
    u32 firstFeature = ((u32)GROUP_ID % featureTiles) * DECODER_TILE_FEATURES;
    GLOBAL const float* block = parameters + s * instanceParameters;
    GLOBAL const float* wOut = block + decoderOffset;                      /* [n][m] */
    GLOBAL const float* hs = h + s * batch * m;                    /* [rows][m] */

    float acc[DECODER_BLOCK_ROWS][DECODER_BLOCK_FEATURES];
    for (int t = 0; t < DECODER_BLOCK_ROWS; ++t)
        for (int u = 0; u < DECODER_BLOCK_FEATURES; ++u) acc[t][u] = 0.0f;

    for (u32 k0 = 0; k0 < m; k0 += DECODER_TILE_K)
    {
        /* Stage the k-tile, transposed to k-major; 8 consecutive work-items read 8 consecutive k. */
        for (u32 e = lid; e < DECODER_TILE_ROWS * DECODER_TILE_K; e += DECODER_THREADS_ROWS * DECODER_THREADS_FEATURES)
        {
            u32 rr = e / DECODER_TILE_K, kk = e % DECODER_TILE_K;
            u32 r = firstRow + rr, k = k0 + kk;
            hTile[kk][rr] = r < rows && k < m ? hs[r * m + k] : 0.0f;
        }
        for (u32 e = lid; e < DECODER_TILE_FEATURES * DECODER_TILE_K; e += DECODER_THREADS_ROWS * DECODER_THREADS_FEATURES)
        {
            u32 ii = e / DECODER_TILE_K, kk = e % DECODER_TILE_K;
            u32 i = firstFeature + ii, k = k0 + kk;
            wTile[kk][ii] = i < n && k < m ? wOut[i * m + k] : 0.0f;
        }
        BARRIER;
        u32 valid = m - k0 < DECODER_TILE_K ? m - k0 : DECODER_TILE_K;
        for (u32 kk = 0; kk < valid; ++kk)
        {
            float a[DECODER_BLOCK_ROWS], b[DECODER_BLOCK_FEATURES];
            for (int t = 0; t < DECODER_BLOCK_ROWS; ++t) a[t] = hTile[kk][ty + DECODER_THREADS_ROWS * t];
            for (int u = 0; u < DECODER_BLOCK_FEATURES; ++u) b[u] = wTile[kk][tx + DECODER_THREADS_FEATURES * u];
            for (int t = 0; t < DECODER_BLOCK_ROWS; ++t)
                for (int u = 0; u < DECODER_BLOCK_FEATURES; ++u) acc[t][u] = FMA(b[u], a[t], acc[t][u]);
        }
        BARRIER;
    }

    for (int t = 0; t < DECODER_BLOCK_ROWS; ++t)
    {
        u32 r = firstRow + ty + DECODER_THREADS_ROWS * t;
        if (r >= rows) break;
        GLOBAL float* zr = z + (s * batch + r) * n;
        for (int u = 0; u < DECODER_BLOCK_FEATURES; ++u)
        {
            u32 i = firstFeature + tx + DECODER_THREADS_FEATURES * u;
            if (i < n) zr[i] = hasBias ? FADD(acc[t][u], block[biasOffset + i]) : acc[t][u];
        }
    }
}

/* ---------------------------------------------------------------------------------------------
   Loss and output gradient: per row, with y = (z > 0 ? z : 0) and d = y - x,
   rowLoss[r] = R32 over i of lane = FMA(I_i * d, d, lane), g_z[r][i] = z > 0 ? GradScale_i * d : 0.
   One group of R32_LANES work-items per row. rowLoss: [instances][rows] (packed by rows). */
KERNEL void loss(u32 firstInstance, GLOBAL const float* RESTRICT z, GLOBAL const float* RESTRICT x,
    GLOBAL const float* RESTRICT importance, GLOBAL const float* RESTRICT gradScale, GLOBAL float* RESTRICT rowLoss,
    GLOBAL float* RESTRICT gz, u32 n, u32 batch, u32 rows, u32 withGradient)
{
    LOCAL float lanes[R32_LANES];
    u32 s = firstInstance + (u32)INSTANCE_GROUP;
    u32 r = (u32)GROUP_ID, lane = (u32)LOCAL_ID;
    u32 rowStart = (s * batch + r) * n;
    GLOBAL const float* weight = importance + s * n;
    GLOBAL const float* scale = gradScale + s * n;
    float acc = 0.0f;
    for (u32 i = lane; i < n; i += R32_LANES)
    {
        float zi = z[rowStart + i];
        float y = zi > 0.0f ? zi : 0.0f;
        float d = FSUB(y, x[rowStart + i]);
        acc = FMA(FMUL(weight[i], d), d, acc);
        if (withGradient) gz[rowStart + i] = zi > 0.0f ? FMUL(scale[i], d) : 0.0f;
    }
    lanes[lane] = acc;
    BARRIER;
    for (u32 stride = R32_LANES / 2; stride >= 1; stride >>= 1)
    {
        if (lane < stride) lanes[lane] = FADD(lanes[lane], lanes[lane + stride]);
        BARRIER;
    }
    if (lane == 0) rowLoss[s * rows + r] = lanes[0];
}

/* ---------------------------------------------------------------------------------------------
   Backward. */

/* g_b[i] = serial over the rows r with g_z[r][i] != 0, ascending, of acc = acc + g_z[r][i]
   (adding a zero changes no bit of a plain sum started at +0). One work-item per feature. */
KERNEL void bias_gradient(u32 firstInstance, GLOBAL const float* RESTRICT gz, GLOBAL const u32* RESTRICT gzColumnIndex,
    GLOBAL const u32* RESTRICT gzColumnCount, GLOBAL float* RESTRICT gradients, u32 n, u32 batch,
    u32 instanceParameters, u32 biasOffset)
{
    u32 s = firstInstance + (u32)INSTANCE_GROUP;
    u32 i = (u32)GROUP_ID * GROUP_SIZE + (u32)LOCAL_ID;
    if (i >= n) return;
    u32 column = s * n + i;
    GLOBAL const u32* active = gzColumnIndex + column * batch;
    GLOBAL const float* gzs = gz + s * batch * n + i;
    u32 count = gzColumnCount[column];
    float acc = 0.0f;
    for (u32 c = 0; c < count; ++c) acc = FADD(acc, gzs[active[c] * n]);
    gradients[s * instanceParameters + biasOffset + i] = acc;
}

/* g_h[r][j] = serial-k over the nonzero g_z[r][i], i ascending, of FMA(W_out[i][j], g_z[r][i], acc).
   One work-item per (r, j), batch x m per instance. */
KERNEL void decoder_input_gradient(u32 firstInstance, GLOBAL const float* RESTRICT parameters,
    GLOBAL const float* RESTRICT gz, GLOBAL const u32* RESTRICT gzRowIndex, GLOBAL const u32* RESTRICT gzRowCount,
    GLOBAL float* RESTRICT gh, u32 n, u32 m, u32 batch, u32 instanceParameters, u32 decoderOffset)
{
    u32 s = firstInstance + (u32)INSTANCE_GROUP;
    u32 g = (u32)GROUP_ID * GROUP_SIZE + (u32)LOCAL_ID;
    if (g >= batch * m) return;
    u32 r = g / m, j = g % m;
    u32 row = s * batch + r;
    GLOBAL const float* wOut = parameters + s * instanceParameters + decoderOffset;   /* [n][m] */
    GLOBAL const float* gzr = gz + row * n;
    GLOBAL const u32* active = gzRowIndex + row * n;
    u32 count = gzRowCount[row];
    float acc = 0.0f;
    for (u32 c = 0; c < count; ++c)
    {
        u32 i = active[c];
        acc = FMA(wOut[i * m + j], gzr[i], acc);
    }
    gh[row * m + j] = acc;
}

/* Both weight gradients of element (i, j), over the batch in ascending r:
     gW_out[i][j] = serial-k over the r with g_z[r][i] != 0 of FMA(g_z[r][i], h[r][j], acc)
     gW_in[j][i]  = serial-k over the r with x[r][i] != 0 of FMA(g_h[r][j], x[r][i], acc)
   untied: stored at the decoder offset and (transposed, [i][j]) at the encoder offset;
   tied: gW[j][i] = gW_in[j][i] + gW_out[i][j], one rounded add, stored transposed.
   One work-item per (i, j), n x m per instance. */
KERNEL void weight_gradients(u32 firstInstance, GLOBAL const float* RESTRICT x, GLOBAL const float* RESTRICT h,
    GLOBAL const float* RESTRICT gz, GLOBAL const float* RESTRICT gh, GLOBAL const u32* RESTRICT xColumnIndex,
    GLOBAL const u32* RESTRICT xColumnCount, GLOBAL const u32* RESTRICT gzColumnIndex,
    GLOBAL const u32* RESTRICT gzColumnCount, GLOBAL float* RESTRICT gradients, u32 n, u32 m, u32 batch,
    u32 instanceParameters, u32 decoderOffset, u32 tied)
{
    u32 s = firstInstance + (u32)INSTANCE_GROUP;
    u32 g = (u32)GROUP_ID * GROUP_SIZE + (u32)LOCAL_ID;
    if (g >= n * m) return;
    u32 i = g / m, j = g % m;
    u32 column = s * n + i;
    u32 activations = s * batch;

    GLOBAL const u32* active = gzColumnIndex + column * batch;
    u32 count = gzColumnCount[column];
    float decoder = 0.0f;
    for (u32 c = 0; c < count; ++c)
    {
        u32 row = activations + active[c];
        decoder = FMA(gz[row * n + i], h[row * m + j], decoder);
    }

    active = xColumnIndex + column * batch;
    count = xColumnCount[column];
    float encoder = 0.0f;
    for (u32 c = 0; c < count; ++c)
    {
        u32 row = activations + active[c];
        encoder = FMA(gh[row * m + j], x[row * n + i], encoder);
    }

    GLOBAL float* block = gradients + s * instanceParameters;
    if (tied)
    {
        block[g] = FADD(encoder, decoder);
    }
    else
    {
        block[g] = encoder;
        block[decoderOffset + g] = decoder;
    }
}

/* ---------------------------------------------------------------------------------------------
   Optimizers (OptimizerStep.cs states the sequences). One work-item per element of an instance's
   block; the layout does not matter to them as long as parameters, gradients and state share it.
   stepScalars: [instances][2] = (StepSize, DecayFactor). state: slot-major, slot stride `total`.
   After the update, a non-finite parameter records the step in firstNonFinite[s] unless an earlier
   step already did. */

DEVICE_FN void record_non_finite(GLOBAL u32* firstNonFinite, u32 s, float p, u32 step)
{
    if ((FLOAT_BITS(p) & 0x7F800000u) == 0x7F800000u) ATOMIC_CAS_U32(firstNonFinite + s, NO_STEP, step);
}

KERNEL void adam_update(u32 firstInstance, GLOBAL float* RESTRICT parameters, GLOBAL const float* RESTRICT gradients,
    GLOBAL float* RESTRICT state, GLOBAL const float* RESTRICT stepScalars, GLOBAL u32* RESTRICT firstNonFinite,
    u32 instanceParameters, u32 total, u32 step, float beta1, float beta2, float oneMinusBeta1, float oneMinusBeta2,
    float eps, float l2, float biasCorrection2Sqrt, u32 decoupled)
{
    u32 s = firstInstance + (u32)INSTANCE_GROUP;
    u32 e = (u32)GROUP_ID * GROUP_SIZE + (u32)LOCAL_ID;
    if (e >= instanceParameters) return;
    u32 at = s * instanceParameters + e;
    float stepSize = stepScalars[2 * s], decay = stepScalars[2 * s + 1];
    float g = gradients[at], p = parameters[at];
    if (l2 != 0.0f) g = FMA(l2, p, g);
    if (decoupled) p = FMUL(p, decay);
    float m1 = FMA(beta1, state[at], FMUL(oneMinusBeta1, g));
    float v = FMA(beta2, state[total + at], FMUL(oneMinusBeta2, FMUL(g, g)));
    state[at] = m1;
    state[total + at] = v;
    float denom = FADD(FDIV(FSQRT(v), biasCorrection2Sqrt), eps);
    p = FMA(-stepSize, FDIV(m1, denom), p);
    parameters[at] = p;
    record_non_finite(firstNonFinite, s, p, step);
}

KERNEL void sgd_update(u32 firstInstance, GLOBAL float* RESTRICT parameters, GLOBAL const float* RESTRICT gradients,
    GLOBAL float* RESTRICT state, GLOBAL const float* RESTRICT stepScalars, GLOBAL u32* RESTRICT firstNonFinite,
    u32 instanceParameters, u32 step, float l2, float momentum)
{
    u32 s = firstInstance + (u32)INSTANCE_GROUP;
    u32 e = (u32)GROUP_ID * GROUP_SIZE + (u32)LOCAL_ID;
    if (e >= instanceParameters) return;
    u32 at = s * instanceParameters + e;
    float g = gradients[at], p = parameters[at];
    if (l2 != 0.0f) g = FMA(l2, p, g);
    if (momentum != 0.0f)
    {
        g = FMA(momentum, state[at], g);
        state[at] = g;
    }
    p = FMA(-stepScalars[2 * s], g, p);
    parameters[at] = p;
    record_non_finite(firstNonFinite, s, p, step);
}
