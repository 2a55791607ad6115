using CharRnn.Fast.Kernels;
using FsCheck;
using FsCheck.Fluent;
using Xunit;
using static CharRnn.Fast.Tests.Kernels.PolicySweep;

namespace CharRnn.Fast.Tests.Kernels;

/// <summary>The element-wise kernels (optimizers, clipping, sums) and reductions against double-precision formulas.</summary>
public class ElementwiseTests
{
    private static Gen<(int N, int Seed)> Cases => from n in Size from seed in Gen.Choose(0, int.MaxValue) select (n, seed);

    // The clip an update applies as it reads g: none, a clamp, a rescale, or both (s·clamp(g, −c, c)).
    private static Gen<(int N, int Seed, float Limit, float Scale)> ClipCases =>
        from c in Cases from limit in Gen.Elements(0f, 0.3f) from scale in Gen.Elements(1f, 0.7f) select (c.N, c.Seed, limit, scale);

    private static double[] Clipped(float[] g, float limit, float scale)
        => g.Select(x => scale * (limit > 0 ? Math.Clamp((double)x, -limit, limit) : x)).ToArray();

    [Fact]
    public void Sgd_matches_formula() => Property(ClipCases, (policy, s) =>
    {
        var rng = new Random(s.Seed);
        var p = Random(rng, s.N); var g = Random(rng, s.N); var g0 = g.ToArray();
        var gc = Clipped(g, s.Limit, s.Scale);
        var expected = p.Select((x, i) => x - 0.1 * gc[i]).ToArray();
        Elementwise.Apply(policy, new SgdOperator(0.1f, new GradientClip(s.Limit, s.Scale)), p, g);
        Close.Assert(p, expected, 1e-6, 1e-7, "p");
        Assert.Equal(g0, g);
    });

    [Fact]
    public void Adagrad_matches_min_char_rnn() => Property(ClipCases, (policy, s) =>
    {
        var rng = new Random(s.Seed);
        var p = Random(rng, s.N); var g = Random(rng, s.N); var mem = Random(rng, s.N).Select(Math.Abs).ToArray(); var g0 = g.ToArray();
        var gc = Clipped(g, s.Limit, s.Scale);
        var expectedMem = mem.Select((m, i) => m + gc[i] * gc[i]).ToArray();
        var expected = p.Select((x, i) => x - 0.1 * gc[i] / Math.Sqrt(expectedMem[i] + 1e-8)).ToArray();
        Elementwise.Apply(policy, new AdagradOperator(0.1f, 1e-8f, new GradientClip(s.Limit, s.Scale)), p, g, mem);
        Close.Assert(mem, expectedMem, 1e-6, 1e-7, "mem");
        Close.Assert(p, expected, 1e-5, 1e-6, "p");
        Assert.Equal(g0, g);
    });

    [Fact]
    public void RmsProp_matches_char_rnn() => Property(ClipCases, (policy, s) =>
    {
        var rng = new Random(s.Seed);
        var p = Random(rng, s.N); var g = Random(rng, s.N); var ms = Random(rng, s.N, 0.1).Select(Math.Abs).ToArray(); var g0 = g.ToArray();
        const double lr = 2e-3, alpha = 0.95, eps = 1e-8;
        var gc = Clipped(g, s.Limit, s.Scale);
        var expectedMs = ms.Select((m, i) => alpha * m + (1 - alpha) * gc[i] * gc[i]).ToArray();
        var expected = p.Select((x, i) => x - lr * gc[i] / (Math.Sqrt(expectedMs[i]) + eps)).ToArray();
        Elementwise.Apply(policy, new RmsPropOperator(lr, alpha, eps, new GradientClip(s.Limit, s.Scale)), p, g, ms);
        Close.Assert(ms, expectedMs, 1e-5, 1e-9, "mean square");
        Close.Assert(p, expected, 1e-5, 1e-4 * lr, "p");
        Assert.Equal(g0, g);
    });

    [Fact]
    public void Adam_matches_bias_corrected_formula() => Property(
        from c in ClipCases from t in Gen.Choose(1, 50) select (c.N, c.Seed, c.Limit, c.Scale, t), (policy, s) =>
    {
        var rng = new Random(s.Seed);
        var p = Random(rng, s.N); var g = Random(rng, s.N); var m = Random(rng, s.N, 0.1); var v = Random(rng, s.N, 0.01).Select(Math.Abs).ToArray();
        var g0 = g.ToArray();
        const double lr = 0.01, b1 = 0.99, b2 = 0.9999, eps = 1e-8; // seed 000's betas
        var gc = Clipped(g, s.Limit, s.Scale);
        var em = m.Select((x, i) => b1 * x + (1 - b1) * gc[i]).ToArray();
        var ev = v.Select((x, i) => b2 * x + (1 - b2) * gc[i] * gc[i]).ToArray();
        var ep = p.Select((x, i) => x - lr * (em[i] / (1 - Math.Pow(b1, s.t))) / (Math.Sqrt(ev[i] / (1 - Math.Pow(b2, s.t))) + eps)).ToArray();
        Elementwise.Apply(policy, new AdamOperator(lr, b1, b2, eps, s.t, new GradientClip(s.Limit, s.Scale)), p, g, m, v);
        Close.Assert(m, em, 1e-5, 1e-7, "m");
        Close.Assert(v, ev, 1e-5, 1e-9, "v");
        // the step itself is ~lr; compare it with a tolerance relative to lr
        Close.Assert(p, ep, 1e-5, 1e-4 * lr, "p");
        Assert.Equal(g0, g);
    });

    [Fact]
    public void Clip_and_sums_match() => Property(Cases, (policy, s) =>
    {
        var rng = new Random(s.Seed);
        var g = Random(rng, s.N, 10);
        var clipped = g.Select(x => Math.Clamp((double)x, -5, 5)).ToArray();
        double sumSquares = g.Sum(x => (double)x * x);
        Assert.True(Math.Abs(Reductions.SumOfSquares(policy, g) - sumSquares) <= 1e-5 * sumSquares + 1e-9);
        // a finite element whose square overflows float still gives a finite sum; a non-finite one does not
        var huge = g.ToArray();
        huge[rng.Next(s.N)] = 3e20f;
        double hugeSum = huge.Sum(x => (double)x * x);
        Assert.True(Math.Abs(Reductions.SumOfSquares(policy, huge) - hugeSum) <= 1e-9 * hugeSum);
        huge[rng.Next(s.N)] = float.PositiveInfinity;
        Assert.Equal(double.PositiveInfinity, Reductions.SumOfSquares(policy, huge));
        Elementwise.Apply(policy, new ClipOperator(new GradientClip(5f, 1)), g);
        Close.Assert(g, clipped, 0, 0, "clipped");
        var scaled = g.Select(x => x * 0.5).ToArray();
        Elementwise.Apply(policy, new ClipOperator(new GradientClip(0, 0.5f)), g);
        Close.Assert(g, scaled, 1e-7, 0, "scaled");
        var y = Random(rng, s.N);
        var sum = y.Select((x, i) => (double)x + g[i]).ToArray();
        Elementwise.Apply(policy, new AddOperator(), y, g);
        Close.Assert(y, sum, 1e-6, 1e-7, "sum");
    });

    [Fact]
    public void Row_gather_scatter_column_sums_and_transpose_match() => Property(
        from v in Gen.Choose(1, 12) from h in Size from r in Gen.Choose(1, 9) from seed in Gen.Choose(0, int.MaxValue) select (v, h, r, seed), (policy, s) =>
    {
        var rng = new Random(s.seed);
        var table = Random(rng, s.v * s.h); var bias = Random(rng, s.h);
        var ids = Enumerable.Range(0, s.r).Select(_ => rng.Next(s.v)).ToArray();
        var gathered = new float[s.r * s.h];
        RowKernels.GatherRowsAddBias(policy, gathered, table, ids, bias);
        var expected = new double[s.r * s.h];
        for (int i = 0; i < s.r; i++) for (int j = 0; j < s.h; j++) expected[i * s.h + j] = (double)table[ids[i] * s.h + j] + bias[j];
        Close.Assert(gathered, expected, 1e-6, 1e-7, "gathered");

        var sums = Random(rng, s.h);
        var expectedSums = sums.Select(x => (double)x).ToArray();
        for (int i = 0; i < s.r; i++) for (int j = 0; j < s.h; j++) expectedSums[j] += gathered[i * s.h + j];
        var columnSums = (float[])sums.Clone();
        RowKernels.AddColumnSums(policy, columnSums, gathered);
        Close.Assert(columnSums, expectedSums, 1e-5, 1e-6, "column sums");

        // the sums of columns [c0, c0 + w) of the same rows (GRU's db_hn): a slice from column c0, rows h apart
        int c0 = rng.Next(s.h), w = 1 + rng.Next(s.h - c0);
        var part = sums.AsSpan(0, w).ToArray();
        var expectedPart = part.Select(x => (double)x).ToArray();
        for (int i = 0; i < s.r; i++) for (int j = 0; j < w; j++) expectedPart[j] += gathered[i * s.h + c0 + j];
        RowKernels.AddColumnSums(policy, part, gathered.AsSpan(c0), s.h);
        Close.Assert(part, expectedPart, 1e-5, 1e-6, "strided column sums");

        // the scatter-add and the column sums of the same rows in one pass: the same floats as each alone
        var scattered = (float[])table.Clone();
        var expectedTable = table.Select(x => (double)x).ToArray();
        for (int i = 0; i < s.r; i++) for (int j = 0; j < s.h; j++) expectedTable[ids[i] * s.h + j] += gathered[i * s.h + j];
        var summed = (float[])sums.Clone();
        RowKernels.ScatterAddRowsAndSum(policy, scattered, ids, gathered, s.h, summed);
        Close.Assert(scattered, expectedTable, 1e-6, 1e-6, "scattered");
        Assert.Equal(columnSums, summed);

        var transposed = new float[s.h * s.v];
        RowKernels.Transpose(policy, transposed, table, s.v, s.h);
        for (int i = 0; i < s.v; i++) for (int j = 0; j < s.h; j++) Assert.Equal(table[i * s.h + j], transposed[j * s.v + i]);
    });

    [Fact]
    public void Transpose_is_exact_for_every_shape_up_to_70_and_at_cache_hostile_strides() => ForEachPolicy(policy =>
    {
        // every remainder of the 4 × 4 and 8 × 8 tiles and of the 16 × 16 blocks, more than four blocks across
        var rng = new Random(8);
        var shapes = (from r in Enumerable.Range(1, 70) from c in Enumerable.Range(1, 70) select (r, c)).Concat([(512, 65), (65, 512), (1024, 1024), (260, 300)]);
        foreach (var (rows, columns) in shapes)
        {
            // from rows of C floats and of C + 5 (a block of a wider matrix), into rows of R floats and of R + 3 (a packed
            // panel's stride) with the gaps left untouched
            foreach (var (inStride, stride) in new[] { (columns, rows), (columns, rows + 3), (columns + 5, rows) })
            {
                var input = Random(rng, (rows - 1) * inStride + columns);
                var output = Enumerable.Repeat(float.NaN, (columns - 1) * stride + rows).ToArray();
                if (inStride == columns) RowKernels.Transpose(policy, output, stride, input, rows, columns);
                else RowKernels.Transpose(policy, output, stride, input, inStride, rows, columns);
                for (int c = 0; c < columns; c++)
                    for (int r = 0; r < stride && c * stride + r < output.Length; r++)
                        if (r < rows ? output[c * stride + r] != input[r * inStride + c] : !float.IsNaN(output[c * stride + r]))
                            Assert.Fail($"[{rows},{columns}] from stride {inStride} into stride {stride}: output ({c},{r})");
            }
        }
    });

    [Fact]
    public void Block_copies_are_exact_for_every_width_up_to_70_and_leave_the_gaps() => ForEachPolicy(policy =>
    {
        // every width 1..70 (each remainder of 4, 8 and 16 lanes, and more than four whole vectors) over a few row counts
        var rng = new Random(9);
        var shapes = (from r in new[] { 1, 2, 3, 7, 40 } from c in Enumerable.Range(1, 70) select (r, c)).Concat([(512, 64), (3, 300)]);
        foreach (var (rows, columns) in shapes)
        {
            // between rows of C floats and of C + 5 (a wider source, a packed panel's stride), the gaps left untouched
            foreach (var (inStride, outStride) in new[] { (columns, columns), (columns + 5, columns), (columns, columns + 5) })
            {
                var input = Random(rng, (rows - 1) * inStride + columns);
                var output = Enumerable.Repeat(float.NaN, (rows - 1) * outStride + columns).ToArray();
                RowKernels.CopyBlock(policy, output, outStride, input, inStride, rows, columns);
                for (int r = 0; r < rows; r++)
                    for (int c = 0; c < outStride && r * outStride + c < output.Length; c++)
                        if (c < columns ? output[r * outStride + c] != input[r * inStride + c] : !float.IsNaN(output[r * outStride + c]))
                            Assert.Fail($"[{rows},{columns}] strides {inStride} → {outStride}: output ({r},{c})");
            }
        }
    });
}
