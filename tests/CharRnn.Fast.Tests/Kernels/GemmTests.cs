using CharRnn.Fast.Kernels;
using FsCheck;
using FsCheck.Fluent;
using Xunit;
using static CharRnn.Fast.Tests.Kernels.PolicySweep;

namespace CharRnn.Fast.Tests.Kernels;

public class GemmTests
{
    // float accumulation of K terms: error ≤ ~K·ε·Σ|terms|; 1e-5 relative to Σ|terms| covers K ≤ 300 with margin.
    private const double Rel = 1e-5, Abs = 1e-6;

    private static Gen<(int M, int K, int N, int Seed)> Shapes =>
        from m in Gen.Choose(1, 30) from k in Gen.Choose(0, 70) from n in Size from seed in Gen.Choose(0, int.MaxValue)
        select (m, k, n, seed);

    [Fact]
    public void Multiply_matches_naive_on_every_path() => Property(Shapes, (policy, s) =>
    {
        var rng = new Random(s.Seed);
        var a = Random(rng, s.M * s.K); var b = Random(rng, s.K * s.N);
        var c = Random(rng, s.M * s.N); // overwritten
        Gemm.Multiply(policy, c, a, b, s.M, s.K, s.N);
        var (expected, scale) = NaiveKernels.Gemm(null, a, s.K, 1, b, s.M, s.K, s.N, (x, _) => x);
        Close.Assert(c, expected, scale, Rel, Abs, "C");
    });

    [Fact]
    public void MultiplyAdd_accumulates_onto_c() => Property(Shapes, (policy, s) =>
    {
        var rng = new Random(s.Seed);
        var a = Random(rng, s.M * s.K); var b = Random(rng, s.K * s.N); var c = Random(rng, s.M * s.N);
        var (expected, scale) = NaiveKernels.Gemm(c, a, s.K, 1, b, s.M, s.K, s.N, (x, _) => x);
        Gemm.MultiplyAdd(policy, c, a, b, s.M, s.K, s.N);
        Close.Assert(c, expected, scale, Rel, Abs, "C");
    });

    [Fact]
    public void MultiplyTransposedA_reads_a_as_k_by_m_and_writes_c() => Property(Shapes, (policy, s) =>
    {
        var rng = new Random(s.Seed);
        var a = Random(rng, s.K * s.M); var b = Random(rng, s.K * s.N);
        var (expected, scale) = NaiveKernels.Gemm(new float[s.M * s.N], a, 1, s.M, b, s.M, s.K, s.N, (x, _) => x);
        var packed = new PackedMatrix(policy, s.K, s.N);
        packed.Pack(b);
        foreach (bool isPacked in new[] { false, true })
        {
            var c = Enumerable.Repeat(float.NaN, s.M * s.N).ToArray(); // whatever c held is overwritten, not added to
            Gemm.MultiplyTransposedA(policy, c, a, isPacked ? packed.View() : PanelView.RowMajor(b, s.K, s.N), s.M);
            Close.Assert(c, expected, scale, Rel, Abs, isPacked ? "packed B" : "row-major B");
        }
    });

    [Fact]
    public void A_transposed_product_taller_than_an_L2_slab_runs_a_slab_at_a_time() => Property(
        from extra in Gen.Choose(1, 40) from k in Gen.Choose(129, 300) from panels in Gen.Elements(false, true)
        from seed in Gen.Choose(0, int.MaxValue) select (extra, k, panels, seed), (policy, t) =>
    {
        // more rows of C than stay in L2 ([rows, N] in a third of it) are finished a slab at a time through every K
        // block: each slab's columns of S, rows of init, C and the epilogue's aux, over two K blocks or more
        const int n = 1000;
        int m = Gemm.SlabLimit(n) + t.extra;
        Assert.True(Gemm.SlabRows(m, n) < m, $"M = {m} is one slab");
        var rng = new Random(t.seed);
        var source = Random(rng, t.k * n);
        var packed = new PackedMatrix(policy, t.k, n);
        packed.Pack(source);
        var b = t.panels ? packed.View() : PanelView.RowMajor(source, t.k, n);
        var s = Random(rng, t.k * m); // S [K, M], A = Sᵀ
        var init = Random(rng, m * n);
        var h = Random(rng, m * n);
        var (expected, scale) = NaiveKernels.Gemm(init, s, 1, m, source, m, t.k, n, (x, i) => x * (1 - (double)h[i] * h[i]));
        var c = (float[])init.Clone();
        Gemm.Run<TanhGradientEpilogue>(policy, c, c, new StridedMatrix(s, m, t.k, 1, m), b, h);
        Close.Assert(c, expected, scale, 2.0 * (t.k + 1) / (1 << 24), 2e-6, "C after the epilogue");
        var (product, productScale) = NaiveKernels.Gemm(new float[m * n], s, 1, m, source, m, t.k, n, (x, _) => x);
        var written = Enumerable.Repeat(float.NaN, m * n).ToArray();
        Gemm.MultiplyTransposedA(policy, written, s, b, m);
        Close.Assert(written, product, productScale, 2.0 * (t.k + 1) / (1 << 24), 2e-6, "written C");
    }, tests: 3);

    [Fact]
    public void Fused_tanh_cell_matches_naive() => Property(Shapes, (policy, s) =>
    {
        var rng = new Random(s.Seed);
        var a = Random(rng, s.M * s.K); var b = Random(rng, s.K * s.N); var c = Random(rng, s.M * s.N, 2);
        var (expected, scale) = NaiveKernels.Gemm(c, a, s.K, 1, b, s.M, s.K, s.N, (x, _) => Math.Tanh(x));
        Gemm.Run<TanhEpilogue>(policy, c, c, StridedMatrix.RowMajor(a, s.M, s.K), PanelView.RowMajor(b, s.K, s.N), default);
        // tanh is 1-Lipschitz: the GEMM's error passes through, plus the approximation's 1e-6.
        Close.Assert(c, expected, scale, Rel, 2e-6, "h");
    });

    [Fact]
    public void Fused_relu_cell_matches_naive() => Property(Shapes, (policy, s) =>
    {
        var rng = new Random(s.Seed);
        var a = Random(rng, s.M * s.K); var b = Random(rng, s.K * s.N); var c = Random(rng, s.M * s.N, 2);
        var (expected, scale) = NaiveKernels.Gemm(c, a, s.K, 1, b, s.M, s.K, s.N, (x, _) => Math.Max(x, 0));
        Gemm.Run<ReluEpilogue>(policy, c, c, StridedMatrix.RowMajor(a, s.M, s.K), PanelView.RowMajor(b, s.K, s.N), default);
        Close.Assert(c, expected, scale, Rel, Abs, "h");
    });

    [Fact]
    public void Fused_backward_cells_apply_the_derivative_at_the_output() => Property(Shapes, (policy, s) =>
    {
        var rng = new Random(s.Seed);
        var a = Random(rng, s.M * s.K); var b = Random(rng, s.K * s.N); var init = Random(rng, s.M * s.N);
        var h = Random(rng, s.M * s.N); // tanh outputs in (−1, 1); as relu outputs, the negatives stand for zeros
        var (tanhExpected, scale) = NaiveKernels.Gemm(init, a, s.K, 1, b, s.M, s.K, s.N, (x, i) => x * (1 - (double)h[i] * h[i]));
        var c = (float[])init.Clone();
        Gemm.Run<TanhGradientEpilogue>(policy, c, c, StridedMatrix.RowMajor(a, s.M, s.K), PanelView.RowMajor(b, s.K, s.N), h);
        Close.Assert(c, tanhExpected, scale, Rel, Abs, "draw(tanh)");

        var (reluExpected, _) = NaiveKernels.Gemm(init, a, s.K, 1, b, s.M, s.K, s.N, (x, i) => h[i] > 0 ? x : 0);
        c = (float[])init.Clone();
        Gemm.Run<ReluGradientEpilogue>(policy, c, c, StridedMatrix.RowMajor(a, s.M, s.K), PanelView.RowMajor(b, s.K, s.N), h);
        Close.Assert(c, reluExpected, scale, Rel, Abs, "draw(relu)");
    });

    [Fact]
    public void Deep_products_are_blocked_over_k_without_changing_the_result() => Property(
        from m in Gen.Choose(1, 14) from blocks in Gen.Choose(0, 3) from extra in Gen.Choose(-2, 5) from n in Size from seed in Gen.Choose(0, int.MaxValue)
        from transposed in Gen.Elements(false, true) select (m, blocks, extra, n, seed, transposed), (policy, s) =>
    {
        // K beyond one block: partial sums stored between blocks, the epilogue applied once at the end (a GEMV and the
        // copies of a transposed A block K more finely than the tiles)
        int depth = s.m == 1 ? Math.Min(policy.KBlock, Gemm.GemvBlock)
            : s.transposed ? Math.Min(policy.KBlock, Gemm.TransposedABlock) : policy.KBlock;
        int k = Math.Max(1, s.blocks * depth + s.extra);
        var rng = new Random(s.seed);
        var a = Random(rng, s.m * k); var b = Random(rng, k * s.n); var c = Random(rng, s.m * s.n);
        int rowStride = s.transposed ? 1 : k, colStride = s.transposed ? s.m : 1;
        var matrix = new StridedMatrix(a, s.m, k, rowStride, colStride);
        var (expected, scale) = NaiveKernels.Gemm(c, a, rowStride, colStride, b, s.m, k, s.n, (x, _) => Math.Tanh(x));
        Gemm.Run<TanhEpilogue>(policy, c, c, matrix, PanelView.RowMajor(b, k, s.n), default);
        Close.Assert(c, expected, scale, Rel, 2e-6, "h");
        var fresh = new float[s.m * s.n];
        var (plain, plainScale) = NaiveKernels.Gemm(null, a, rowStride, colStride, b, s.m, k, s.n, (x, _) => x);
        Gemm.Run<NoEpilogue>(policy, fresh, default, matrix, PanelView.RowMajor(b, k, s.n), default);
        Close.Assert(fresh, plain, plainScale, Rel, Abs, "C");
    }, tests: 40);

    [Fact]
    public void Every_column_remainder_is_covered()
    {
        // exhaustive over N = 1..140 (all remainders of 4, 8, 16 lanes; the 1×8 tile needs N ≥ 128 at 512 bits)
        // with M = 5 (one 4-row tile and one leftover row), M = 11 (two and three) and M = 1 (the GEMV), K = 7 (scalar column tail) and
        // K = 37 (the last columns as dot products along K: two vectors at a time, one, then a scalar remainder)
        ForEachPolicy(policy =>
        {
            var rng = new Random(5);
            for (int n = 1; n <= 140; n++)
            foreach (int m in (int[])[1, 5, 11])
            foreach (int k in (int[])[7, 37])
            {
                var a = Random(rng, m * k); var b = Random(rng, k * n); var c = new float[m * n];
                Gemm.Multiply(policy, c, a, b, m, k, n);
                var (expected, scale) = NaiveKernels.Gemm(null, a, k, 1, b, m, k, n, (x, _) => x);
                Close.Assert(c, expected, scale, Rel, Abs, $"C(n={n})");
            }
        });
    }

    private static Gen<(int M, int K, int N, int Seed, bool Transposed, bool Panels)> PackedShapes =>
        from m in Gen.Choose(1, 30) from k in Gen.Frequency((4, Gen.Choose(0, 70)), (1, Gen.Choose(120, 300))) from n in Size
        from seed in Gen.Choose(0, int.MaxValue) from transposed in Gen.Elements(false, true) from panels in Gen.Elements(true, true, false)
        select (m, k, n, seed, transposed, panels);

    [Fact]
    public void Packed_b_products_match_naive_on_every_path() => Property(PackedShapes, (policy, s) =>
    {
        // B as rows [first, first + K) of a packed matrix with spare rows around them; A plain or transposed (the
        // weight-gradient form, whose K blocks are transposed into a scratch first); the tanh epilogue on top
        var rng = new Random(s.Seed);
        int first = rng.Next(3), rows = first + s.K + rng.Next(3);
        var source = Random(rng, rows * s.N);
        var packed = new PackedMatrix(policy, rows, s.N, s.Panels);
        packed.Pack(source);
        var b = source.AsSpan(first * s.N, s.K * s.N).ToArray();
        var a = Random(rng, s.M * s.K);
        var c = Random(rng, s.M * s.N);
        int rowStride = s.Transposed ? 1 : s.K, colStride = s.Transposed ? s.M : 1;
        var (expected, scale) = NaiveKernels.Gemm(c, a, rowStride, colStride, b, s.M, s.K, s.N, (x, _) => Math.Tanh(x));
        Gemm.Run<TanhEpilogue>(policy, c, c, new StridedMatrix(a, s.M, s.K, rowStride, colStride), packed.View(first, s.K), default);
        Close.Assert(c, expected, scale, Rel, 2e-6, "h");
    }, tests: 60);

    [Fact]
    public void A_packed_b_too_large_for_l2_is_prefetched_without_changing_the_result() => Property(
        from m in Gen.Choose(1, 13) from k in Gen.Choose(500, 560) from extra in Gen.Choose(0, 70) from transposed in Gen.Elements(false, true)
        from seed in Gen.Choose(0, int.MaxValue) select (m, k, extra, transposed, seed), (policy, s) =>
    {
        // B of about 4 MB (the LSTM's W_hhᵀ at H = 512) is over half of any L2 this engine meets, so its panels are
        // prefetched (CacheSizes, CachePrefetch); every row-block count, the leftover rows and the column remainders
        int n = 1800 + s.extra;
        Assert.True((long)s.k * n * sizeof(float) > CacheSizes.L2Bytes / 2, $"B [{s.k},{n}] must exceed half the L2 ({CacheSizes.L2Bytes} bytes)");
        var rng = new Random(s.seed);
        var source = Random(rng, s.k * n);
        var packed = new PackedMatrix(policy, s.k, n);
        packed.Pack(source);
        var a = Random(rng, s.m * s.k);
        var c = Random(rng, s.m * n);
        int rowStride = s.transposed ? 1 : s.k, colStride = s.transposed ? s.m : 1;
        var (expected, scale) = NaiveKernels.Gemm(c, a, rowStride, colStride, source, s.m, s.k, n, (x, _) => x);
        Gemm.Run<NoEpilogue>(policy, c, c, new StridedMatrix(a, s.m, s.k, rowStride, colStride), packed.View(), default);
        // K ≈ 500 is past what Rel covers: the bound itself, K + 1 roundings of 2⁻²⁴ (two per step where multiply and
        // add are separate) relative to the sum of the terms' magnitudes
        Close.Assert(c, expected, scale, 2.0 * (s.k + 1) / (1 << 24), 2e-6, "C");
    }, tests: 4);

    [Fact]
    public void Many_rows_go_through_the_panels_in_row_groups_without_changing_the_result() => Property(
        from extra in Gen.Choose(0, 250) from k in Gen.Frequency((3, Gen.Choose(120, 300)), (1, Gen.Choose(40, 63))) from n in Size
        from transposed in Gen.Elements(false, true) from panels in Gen.Elements(false, true) from seed in Gen.Choose(0, int.MaxValue)
        select (extra, k, n, transposed, panels, seed), (policy, t) =>
    {
        // the weight gradients' shape, thousands of rows over a B that stays in L2: the rows go through every column panel
        // a group at a time (Gemm.RowGroup); every group, the last one's rows, the column remainders and the epilogue's
        // aux at each group's rows. M is two groups of the first K block (4- or 6-row tiles) plus 0–250 rows.
        int depth = Math.Min(t.k, t.transposed && t.k >= 64 ? Math.Min(policy.KBlock, Gemm.TransposedABlock) : policy.KBlock);
        int group = Math.Max(Gemm.RowGroup(4, depth), Gemm.RowGroup(6, depth));
        var s = (m: 2 * group + t.extra, t.k, t.n, t.transposed, t.panels, t.seed);
        var rng = new Random(s.seed);
        var source = Random(rng, s.k * s.n);
        var packed = new PackedMatrix(policy, s.k, s.n);
        packed.Pack(source);
        var b = s.panels ? packed.View() : PanelView.RowMajor(source, s.k, s.n);
        var a = Random(rng, s.m * s.k);
        var init = Random(rng, s.m * s.n);
        var h = Random(rng, s.m * s.n);
        int rowStride = s.transposed ? 1 : s.k, colStride = s.transposed ? s.m : 1;
        var (expected, scale) = NaiveKernels.Gemm(init, a, rowStride, colStride, source, s.m, s.k, s.n, (x, i) => x * (1 - (double)h[i] * h[i]));
        var c = (float[])init.Clone();
        Gemm.Run<TanhGradientEpilogue>(policy, c, c, new StridedMatrix(a, s.m, s.k, rowStride, colStride), b, h);
        Close.Assert(c, expected, scale, 2.0 * (s.k + 1) / (1 << 24), 2e-6, "C");
        if (s.transposed) return; // a few rows of a transposed A alone are blocked over K differently, so not bit for bit
        // the same rows in slices of 7 or 8 (too few for a group; never one, which over a row-major B is the GEMV, blocked
        // over K differently) give the same floats: the groups change the order of the tiles, not any element's arithmetic
        var sliced = (float[])init.Clone();
        for (int i = 0, rows; i < s.m; i += rows)
        {
            rows = s.m - i == 8 ? 8 : Math.Min(7, s.m - i);
            Gemm.Run<TanhGradientEpilogue>(policy, sliced.AsSpan(i * s.n, rows * s.n), sliced.AsSpan(i * s.n, rows * s.n),
                StridedMatrix.RowMajor(a.AsSpan(i * s.k, rows * s.k), rows, s.k), b, h.AsSpan(i * s.n, rows * s.n));
        }
        Assert.Equal(c, sliced);
    }, tests: 30);

    [Fact]
    public void Every_row_count_past_two_row_groups_gives_each_row_the_floats_it_gets_in_slices() => ForEachPolicy(policy =>
    {
        // where this L1's groups end must not change any float (a last group of one row over a row-major B is not a
        // GEMV): every M from two groups to four groups and a tile, over a row-major B of 24 and a packed one of 37 columns
        var rng = new Random(11);
        int k = policy.KBlock, group = Math.Max(Gemm.RowGroup(4, k), Gemm.RowGroup(6, k));
        foreach (var (n, panels) in new[] { (24, false), (37, true) })
        {
            var source = Random(rng, k * n);
            var packed = new PackedMatrix(policy, k, n);
            packed.Pack(source);
            var b = panels ? packed.View() : PanelView.RowMajor(source, k, n);
            var a = Random(rng, (4 * group + 6) * k);
            for (int m = 2 * group; m <= 4 * group + 6; m++)
            {
                var c = new float[m * n];
                Gemm.Run<NoEpilogue>(policy, c, default, StridedMatrix.RowMajor(a.AsSpan(0, m * k), m, k), b, default);
                var sliced = new float[m * n];
                for (int i = 0, rows; i < m; i += rows)
                {
                    rows = m - i == 8 ? 8 : Math.Min(7, m - i);
                    Gemm.Run<NoEpilogue>(policy, sliced.AsSpan(i * n, rows * n), default, StridedMatrix.RowMajor(a.AsSpan(i * k, rows * k), rows, k), b, default);
                }
                Assert.True(c.AsSpan().SequenceEqual(sliced), $"M = {m}, N = {n}, {(panels ? "packed" : "row-major")} B: grouped rows differ from the same rows in slices");
            }
        }
    });

    [Fact]
    public void Cache_sizes_parse_as_sysfs_writes_them()
    {
        Assert.Equal(1280L << 10, CacheSizes.ParseSize("1280K\n"));
        Assert.Equal(2L << 20, CacheSizes.ParseSize("2M"));
        Assert.Equal(524288L, CacheSizes.ParseSize("524288"));
        Assert.Null(CacheSizes.ParseSize("-1K"));
        Assert.Null(CacheSizes.ParseSize("big"));
        Assert.Null(CacheSizes.ParseSize("0K"));
        Assert.InRange(CacheSizes.L2Bytes, 64L << 10, 1L << 30);
        Assert.InRange(CacheSizes.L1Bytes, 8L << 10, 1L << 20);
    }

    [Fact]
    public void Packing_keeps_every_value_in_place_and_transposes_on_request() => Property(
        from k in Gen.Choose(0, 40) from n in Size from panels in Gen.Elements(false, true) from seed in Gen.Choose(0, int.MaxValue)
        select (k, n, panels, seed), (policy, s) =>
    {
        var rng = new Random(s.seed);
        var source = Random(rng, s.k * s.n);
        var packed = new PackedMatrix(policy, s.k, s.n, s.panels);
        packed.Pack(source);
        for (int r = 0; r < s.k; r++)
            for (int j = 0; j < s.n; j++) Assert.Equal(source[r * s.n + j], packed[r, j]);
        var transposed = new PackedMatrix(policy, s.n, s.k, s.panels); // B = sourceᵀ, [N,K]
        transposed.PackTransposeOf(source);
        for (int r = 0; r < s.n; r++)
            for (int j = 0; j < s.k; j++) Assert.Equal(source[j * s.n + r], transposed[r, j]);
        // columns [3, 3 + N) of a wider source [K, N + 7] (one gate block of a matrix)
        var wide = Random(rng, s.k * (s.n + 7));
        var block = new PackedMatrix(policy, s.k, s.n, s.panels);
        block.PackColumns(wide, s.n + 7, 3);
        for (int r = 0; r < s.k; r++)
            for (int j = 0; j < s.n; j++) Assert.Equal(wide[r * (s.n + 7) + 3 + j], block[r, j]);
    });

    [Fact]
    public void Column_splits_at_the_split_unit_give_bit_identical_results() => Property(
        from m in Gen.Choose(1, 14) from k in Gen.Choose(1, 150) from units in Gen.Choose(2, 4) from extra in Gen.Choose(0, 70)
        from panels in Gen.Elements(false, true) from seed in Gen.Choose(0, int.MaxValue) select (m, k, units, extra, panels, seed), (policy, s) =>
    {
        // what threaded batch-1 training and generation rely on: columns computed in slices of the split unit equal the whole
        var rng = new Random(s.seed);
        int unit = policy.ColumnSplitUnit, n = (s.units - 1) * unit + s.extra + 1;
        var source = Random(rng, s.k * n);
        var packed = new PackedMatrix(policy, s.k, n, s.panels);
        packed.Pack(source);
        var a = StridedMatrix.RowMajor(Random(rng, s.m * s.k), s.m, s.k);
        var init = Random(rng, s.m * n);
        var whole = (float[])init.Clone();
        Gemm.Run<TanhEpilogue>(policy, whole, whole, a, packed.View(), default);
        var sliced = (float[])init.Clone();
        for (int first = 0; first < n; first += unit)
            Gemm.RunColumns<TanhEpilogue>(policy, sliced, sliced, a, packed.View(), default, first, Math.Min(n, first + unit));
        Assert.Equal(whole, sliced);
    }, tests: 30);

    [Fact]
    public void Rows_computed_together_equal_each_row_alone_over_packed_b() => Property(
        from m in Gen.Choose(2, 40) from k in Gen.Choose(1, 150) from n in Size from seed in Gen.Choose(0, int.MaxValue) select (m, k, n, seed), (policy, s) =>
    {
        // what training split by streams over a team relies on: a row's result does not depend on the rows beside it
        // (the main tiles, the leftover rows, the last whole block and the leftover as two halves, and the narrower column
        // vectors past the last whole one, four rows at a time)
        var rng = new Random(s.seed);
        var packed = new PackedMatrix(policy, s.k, s.n);
        packed.Pack(Random(rng, s.k * s.n));
        var a = Random(rng, s.m * s.k);
        var init = Random(rng, s.m * s.n);
        var together = (float[])init.Clone();
        Gemm.Run<TanhEpilogue>(policy, together, together, StridedMatrix.RowMajor(a, s.m, s.k), packed.View(), default);
        for (int i = 0; i < s.m; i++)
        {
            var alone = init.AsSpan(i * s.n, s.n).ToArray();
            Gemm.Run<TanhEpilogue>(policy, alone, alone, StridedMatrix.RowMajor(a.AsSpan(i * s.k, s.k), 1, s.k), packed.View(), default);
            Assert.Equal(together.AsSpan(i * s.n, s.n).ToArray(), alone);
        }
    }, tests: 30);

    [Fact]
    public void Shapes_that_do_not_fit_are_rejected()
    {
        var policy = KernelPolicy.Best;
        Assert.Throws<ArgumentException>(() => Gemm.Multiply(policy, new float[3], new float[4], new float[4], 2, 2, 2));
        Assert.Throws<ArgumentException>(() => Gemm.Multiply(policy, new float[4], new float[3], new float[4], 2, 2, 2));
        Assert.Throws<ArgumentException>(() => Gemm.Multiply(policy, new float[4], new float[4], new float[3], 2, 2, 2));
        var packed = new PackedMatrix(policy, 2, 2);
        Assert.Throws<ArgumentException>(() => Gemm.Run<NoEpilogue>(policy, new float[4], default, StridedMatrix.RowMajor(new float[6], 2, 3), packed.View(), default)); // K beyond B's rows
        var other = KernelPolicy.Available.FirstOrDefault(p => p != policy);
        if (other is not null) Assert.Throws<ArgumentException>(() => Gemm.Multiply(other, new float[4], new float[4], packed.View(), 2)); // packed for another policy
    }
}
