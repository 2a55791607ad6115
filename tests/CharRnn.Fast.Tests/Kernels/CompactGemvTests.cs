using CharRnn.Fast.Kernels;
using CharRnn.Fast.Model;
using FsCheck;
using FsCheck.Fluent;
using Xunit;
using static CharRnn.Fast.Tests.Kernels.PolicySweep;

namespace CharRnn.Fast.Tests.Kernels;

/// <summary>The compact-weight GEMV against the naive reference computed on the dequantized operands.</summary>
public class CompactGemvTests
{
    /// <summary>One product: format, x [M,K], B [K,N] (packed from W = Bᵀ when <c>Transposed</c>), init none (0), separate (1) or aliasing c (2), epilogue none (0), tanh (1), relu (2).</summary>
    internal sealed record Case(WeightFormat Format, int M, int K, int N, int Seed, bool Transposed, int Init, int Epilogue);

    private static Gen<int> Depth => Gen.Frequency((9, Gen.Choose(0, 70)), (1, Gen.Choose(71, 300)));

    private static Gen<Case> Cases =>
        from format in Gen.Elements(WeightFormat.Bf16, WeightFormat.Int8) from m in Gen.Choose(1, 8) from k in Depth from n in Size
        from seed in Gen.Choose(0, int.MaxValue) from transposed in Gen.Elements(false, true) from init in Gen.Choose(0, 2) from epilogue in Gen.Choose(0, 2)
        select new Case(format, m, k, n, seed, transposed, init, epilogue);

    /// <summary>
    /// The error bound relative to Σ|terms| + |init|. int8: the integer sum is exact; the kernel rounds it to float, rounds
    /// s_x·s_w, and rounds once more in the multiply-add with init (twice where it is not fused): at most four roundings
    /// of quantities bounded by that scale, 5·2⁻²⁴ with margin. bf16: K exact products summed by a chain of
    /// multiply-adds from zero (each one rounding, or two where not fused), then init added: at most 2K + 1 roundings,
    /// each at most 2⁻²⁴ of the scale (the worst-case bound γ of recursive summation; 2K + 2 for margin). The
    /// epilogues are 1-Lipschitz, so the error passes through them; tanh's approximation adds its 1e-6.
    /// </summary>
    private static (double Rel, double Abs) Tolerance(Case s)
        => (s.Format == WeightFormat.Int8 ? 5 * Math.Pow(2, -24) : (2 * s.K + 2) * Math.Pow(2, -24), s.Epilogue == 1 ? 1e-6 : 1e-37);

    private sealed record Operands(CompactMatrix B, float[] X, float[] Init);

    /// <summary>Weights and activations whose columns and rows range over magnitudes 1e-3..1e3 (scales differ widely), with some all-zero ones.</summary>
    private static Operands Make(Case s)
    {
        var rng = new Random(s.Seed);
        var b = new float[s.K * s.N];
        for (int j = 0; j < s.N; j++)
        {
            if (rng.Next(10) == 0) continue;
            double magnitude = Math.Pow(10, rng.Next(-3, 4));
            for (int r = 0; r < s.K; r++) b[r * s.N + j] = (float)((rng.NextDouble() * 2 - 1) * magnitude);
        }
        var x = new float[s.M * s.K];
        for (int i = 0; i < s.M; i++)
        {
            if (rng.Next(10) == 0) continue;
            double magnitude = Math.Pow(10, rng.Next(-2, 2));
            for (int r = 0; r < s.K; r++) x[i * s.K + r] = (float)((rng.NextDouble() * 2 - 1) * magnitude);
        }
        var matrix = new CompactMatrix(s.Format, s.K, s.N);
        if (s.Transposed)
        {
            var w = new float[s.N * s.K];
            for (int r = 0; r < s.K; r++)
                for (int j = 0; j < s.N; j++) w[j * s.K + r] = b[r * s.N + j];
            matrix.PackTransposeOf(w);
        }
        else matrix.Pack(b);
        return new Operands(matrix, x, Random(rng, s.M * s.N, 3));
    }

    private static CompactActivations Prepared(KernelPolicy policy, Case s, float[] x)
    {
        var prepared = new CompactActivations(s.Format, s.M, s.K);
        prepared.Prepare(policy, x, s.M);
        return prepared;
    }

    /// <summary>Runs columns [first, end) with the case's epilogue; init as the case says (c already holds it when aliased).</summary>
    private static void RunColumns(KernelPolicy policy, Case s, float[] c, float[] init, CompactActivations x, CompactMatrix b, int first, int end)
    {
        ReadOnlySpan<float> start = s.Init switch { 0 => default, 1 => init, _ => c };
        switch (s.Epilogue)
        {
            case 0: CompactGemv.RunColumns<NoEpilogue>(policy, c, start, x, b, first, end); break;
            case 1: CompactGemv.RunColumns<TanhEpilogue>(policy, c, start, x, b, first, end); break;
            default: CompactGemv.RunColumns<ReluEpilogue>(policy, c, start, x, b, first, end); break;
        }
    }

    private static void RunInt8Path(Int8Path path, bool wide, Case s, float[] c, float[] init, CompactActivations x, CompactMatrix b)
    {
        ReadOnlySpan<float> start = s.Init switch { 0 => default, 1 => init, _ => c };
        switch (s.Epilogue)
        {
            case 0: CompactGemv.RunColumns<NoEpilogue>(path, wide, c, start, x, b, 0, s.N); break;
            case 1: CompactGemv.RunColumns<TanhEpilogue>(path, wide, c, start, x, b, 0, s.N); break;
            default: CompactGemv.RunColumns<ReluEpilogue>(path, wide, c, start, x, b, 0, s.N); break;
        }
    }

    /// <summary>c before the call: init itself when aliased, else a value the product must overwrite.</summary>
    private static float[] Output(Case s, float[] init) => s.Init == 2 ? (float[])init.Clone() : Enumerable.Repeat(float.NaN, s.M * s.N).ToArray();

    private static (double[] Expected, double[] Scale) Reference(Case s, CompactActivations x, CompactMatrix b, float[] init)
    {
        var a = new double[s.M * s.K];
        for (int i = 0; i < s.M; i++)
            for (int r = 0; r < s.K; r++) a[i * s.K + r] = x.Value(i, r);
        var w = new double[s.K * s.N];
        for (int r = 0; r < s.K; r++)
            for (int j = 0; j < s.N; j++) w[r * s.N + j] = b.Value(r, j);
        Func<double, int, double> epilogue = s.Epilogue switch { 0 => (v, _) => v, 1 => (v, _) => Math.Tanh(v), _ => (v, _) => Math.Max(v, 0) };
        return NaiveKernels.Gemm(s.Init == 0 ? null : init, a, s.K, 1, w, s.M, s.K, s.N, epilogue);
    }

    private static void AssertMatchesReference(Case s, float[] c, CompactActivations x, CompactMatrix b, float[] init, string what)
    {
        var (expected, scale) = Reference(s, x, b, init);
        var (rel, abs) = Tolerance(s);
        Close.Assert(c, expected, scale, rel, abs, what);
    }

    [Fact]
    public void Products_match_the_reference_on_the_dequantized_operands() => Property(Cases, (policy, s) =>
    {
        var (b, xs, init) = Make(s);
        var x = Prepared(policy, s, xs);
        var c = Output(s, init);
        RunColumns(policy, s, c, init, x, b, 0, s.N);
        AssertMatchesReference(s, c, x, b, init, $"C({s})");
    }, tests: 150);

    [Fact]
    public void Every_column_remainder_is_covered() => ForEachPolicy(policy =>
    {
        // exhaustive over N = 1..140 (every partial vector of 4, 8 and 16 lanes after 8-, 4-, 2- and 1-vector tiles) for
        // one row and for five (a 4-row block and a leftover row), K = 7 (a partial group of either format) and 37
        foreach (var format in (WeightFormat[])[WeightFormat.Bf16, WeightFormat.Int8])
            for (int n = 1; n <= 140; n++)
                foreach (int m in (int[])[1, 5])
                    foreach (int k in (int[])[7, 37])
                    {
                        var s = new Case(format, m, k, n, n * 31 + k, false, 1, 0);
                        var (b, xs, init) = Make(s);
                        var x = Prepared(policy, s, xs);
                        var c = Output(s, init);
                        RunColumns(policy, s, c, init, x, b, 0, n);
                        AssertMatchesReference(s, c, x, b, init, $"C({s})");
                    }
    });

    [Fact]
    public void Int8_matches_the_reference_on_every_instruction_path_bit_for_bit() => Prop.ForAll(
        Cases.Where(s => s.Format == WeightFormat.Int8).ToArbitrary(), s =>
    {
        // every path this CPU has (also those no policy here picks, such as the portable 128-bit one), with 16- and 32-register
        // tiles: exact integer sums and the same per-lane float steps, so the same bits as the first path with the same kind
        // of multiply-add (fused on 256 and 512 bits and on Arm; on x86 multiply, then add, at 128 bits and in the scalar path)
        var (b, xs, init) = Make(s);
        var x = Prepared(KernelPolicy.Scalar, s, xs);
        var scalar = Output(s, init);
        RunInt8Path(Int8Path.Scalar, false, s, scalar, init, x, b);
        AssertMatchesReference(s, scalar, x, b, init, $"C({s}, scalar)");
        var first = new Dictionary<bool, (float[] C, string Name)> { [KernelPolicy.Scalar.FusedMultiplyAdd] = (scalar, "the scalar path") };
        foreach (var path in Int8Paths.Available)
            foreach (bool wide in (bool[])[false, true])
            {
                var c = Output(s, init);
                RunInt8Path(path, wide, s, c, init, x, b);
                bool fused = path is Int8Path.Avx512 or Int8Path.AvxVnni or Int8Path.Avx2 || KernelPolicy.Scalar.FusedMultiplyAdd;
                if (!first.TryGetValue(fused, out var f)) { first[fused] = (c, $"{path}"); AssertMatchesReference(s, c, x, b, init, $"C({s}, {path})"); }
                else Assert.True(f.C.AsSpan().SequenceEqual(c), $"{path} (wide {wide}) differs from {f.Name} for {s}");
            }
    }).Check(Config.QuickThrowOnFailure.WithMaxTest(100).WithQuietOnSuccess(true));

    [Fact]
    public void Every_policy_gives_the_same_bits() => Prop.ForAll(Cases.ToArbitrary(), s =>
    {
        // per column, the same operations in the same order on every width: a model samples alike on every machine whose
        // policy has the same kind of multiply-add (fused, or multiply then add: see KernelPolicy.FusedMultiplyAdd)
        var (b, xs, init) = Make(s);
        var first = new Dictionary<bool, (float[] C, string Name)>();
        foreach (var policy in KernelPolicy.Available)
        {
            var c = Output(s, init);
            RunColumns(policy, s, c, init, Prepared(policy, s, xs), b, 0, s.N);
            bool group = policy.FusedMultiplyAdd;
            if (!first.TryGetValue(group, out var f)) first[group] = (c, policy.Name);
            else Assert.True(f.C.AsSpan().SequenceEqual(c), $"{policy.Name} differs from {f.Name} for {s}");
        }
    }).Check(Config.QuickThrowOnFailure.WithMaxTest(100).WithQuietOnSuccess(true));

    [Fact]
    public void Column_splits_give_bit_identical_results() => Property(
        from s in Cases from units in Gen.Choose(2, 4) from extra in Gen.Choose(0, 70) from cuts in Gen.ListOf(Gen.Choose(1, 400))
        select (s with { N = (units - 1) * 128 + extra + 1 }, cuts.ToArray()), (policy, t) =>
    {
        // what threaded generation relies on: slices at the split unit, and slices cut anywhere, equal the whole
        var (s, cuts) = t;
        var (b, xs, init) = Make(s);
        var x = Prepared(policy, s, xs);
        var whole = Output(s, init);
        RunColumns(policy, s, whole, init, x, b, 0, s.N);
        int unit = policy.ColumnSplitUnit;
        var sliced = Output(s, init);
        for (int first = 0; first < s.N; first += unit) RunColumns(policy, s, sliced, init, x, b, first, Math.Min(s.N, first + unit));
        Assert.Equal(whole, sliced);
        var points = cuts.Where(p => p < s.N).Append(0).Append(s.N).Distinct().Order().ToArray();
        var anywhere = Output(s, init);
        for (int i = 0; i + 1 < points.Length; i++) RunColumns(policy, s, anywhere, init, x, b, points[i], points[i + 1]);
        Assert.Equal(whole, anywhere);
    }, tests: 40);

    [Fact]
    public void A_row_gives_the_same_bits_alone_or_with_other_rows() => Property(Cases.Where(s => s.M > 1), (policy, s) =>
    {
        // a batch of streams gets exactly what each stream would get alone
        var (b, xs, init) = Make(s);
        var together = Output(s, init);
        RunColumns(policy, s, together, init, Prepared(policy, s, xs), b, 0, s.N);
        var one = s with { M = 1 };
        for (int i = 0; i < s.M; i++)
        {
            var rowInit = init.AsSpan(i * s.N, s.N).ToArray();
            var alone = Output(one, rowInit);
            RunColumns(policy, one, alone, rowInit, Prepared(policy, one, xs.AsSpan(i * s.K, s.K).ToArray()), b, 0, s.N);
            Assert.True(together.AsSpan(i * s.N, s.N).SequenceEqual(alone), $"row {i} of {s}");
        }
    }, tests: 60);

    [Fact]
    public void A_row_with_nan_gives_nan_outputs_in_its_row_only() => ForEachPolicy(policy =>
    {
        foreach (var format in (WeightFormat[])[WeightFormat.Bf16, WeightFormat.Int8])
        {
            var s = new Case(format, 3, 40, 50, 7, false, 1, 1);
            var (b, xs, init) = Make(s);
            xs[s.K + 11] = float.NaN;
            var x = Prepared(policy, s, xs);
            var c = Output(s, init);
            RunColumns(policy, s, c, init, x, b, 0, s.N);
            for (int j = 0; j < s.N; j++)
            {
                Assert.True(float.IsNaN(c[s.N + j]), $"{format}: C(1,{j}) = {c[s.N + j]}");
                Assert.True(float.IsFinite(c[j]) && float.IsFinite(c[2 * s.N + j]), $"{format}: rows 0 and 2 are finite");
            }
        }
    });

    [Fact]
    public void Shapes_that_do_not_fit_are_rejected()
    {
        var policy = KernelPolicy.Best;
        var b = new CompactMatrix(WeightFormat.Int8, 6, 5);
        var x = new CompactActivations(WeightFormat.Int8, 2, 6);
        x.Prepare(policy, new float[12], 2);
        var c = new float[10];
        CompactGemv.Run<TanhEpilogue>(policy, c, c, x, b); // fits
        Assert.Throws<ArgumentException>(() => CompactGemv.Run<NoEpilogue>(policy, new float[9], default, x, b)); // c short
        Assert.Throws<ArgumentException>(() => CompactGemv.Run<NoEpilogue>(policy, c, new float[9], x, b)); // init short
        Assert.Throws<ArgumentOutOfRangeException>(() => CompactGemv.RunColumns<NoEpilogue>(policy, c, default, x, b, 3, 6)); // past N
        Assert.Throws<ArgumentOutOfRangeException>(() => CompactGemv.RunColumns<NoEpilogue>(policy, c, default, x, b, 3, 2)); // reversed
        var bf16 = new CompactActivations(WeightFormat.Bf16, 2, 6);
        bf16.Prepare(policy, new float[12], 2);
        Assert.Throws<ArgumentException>(() => CompactGemv.Run<NoEpilogue>(policy, c, default, bf16, b)); // another format
        var deeper = new CompactActivations(WeightFormat.Int8, 2, 7);
        deeper.Prepare(policy, new float[14], 2);
        Assert.Throws<ArgumentException>(() => CompactGemv.Run<NoEpilogue>(policy, c, default, deeper, b)); // K differs
        Assert.Throws<NotSupportedException>(() => CompactGemv.Run<TanhGradientEpilogue>(policy, c, default, x, b)); // reads aux
    }
}
