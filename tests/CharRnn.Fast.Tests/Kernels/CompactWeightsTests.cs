using CharRnn.Fast.Kernels;
using CharRnn.Fast.Model;
using FsCheck;
using FsCheck.Fluent;
using Xunit;
using static CharRnn.Fast.Tests.Kernels.PolicySweep;

namespace CharRnn.Fast.Tests.Kernels;

/// <summary>The compact formats' round trips: bf16 rounding, int8 weights per column, int8 activations per row.</summary>
public class CompactWeightsTests
{
    /// <summary>The nearest bfloat16 to a finite float by value (ties to the even code), computed in double.</summary>
    private static ushort NearestBf16(float value)
    {
        uint bits = BitConverter.SingleToUInt32Bits(value);
        ushort below = (ushort)(bits >> 16), above = (ushort)(below + 1); // toward zero, and one step away from it
        double exact = value, down = BFloat16.Widen(below);
        double up = (above & 0x7F80) == 0x7F80 ? Math.CopySign(Math.Pow(2, 128), exact) : BFloat16.Widen(above); // past the largest: the next power of two
        double toDown = Math.Abs(exact - down), toUp = Math.Abs(up - exact);
        return toDown < toUp || (toDown == toUp && (below & 1) == 0) ? below : above;
    }

    [Fact]
    public void Bf16_rounds_to_nearest_and_ties_to_even()
    {
        // 1 + 2⁻⁸ lies halfway between 1 (code 0x3F80, even) and 1 + 2⁻⁷ (0x3F81): even wins; 1 + 3·2⁻⁸ lies halfway
        // between 0x3F81 and 0x3F82: even (up) wins; just above either half rounds up; negative values mirror
        Assert.Equal(0x3F80, BFloat16.Round(BitConverter.UInt32BitsToSingle(0x3F808000)));
        Assert.Equal(0x3F82, BFloat16.Round(BitConverter.UInt32BitsToSingle(0x3F818000)));
        Assert.Equal(0x3F81, BFloat16.Round(BitConverter.UInt32BitsToSingle(0x3F808001)));
        Assert.Equal(0x3F80, BFloat16.Round(BitConverter.UInt32BitsToSingle(0x3F807FFF)));
        Assert.Equal(0xBF80, BFloat16.Round(BitConverter.UInt32BitsToSingle(0xBF808000)));
        Assert.Equal(0xBF82, BFloat16.Round(BitConverter.UInt32BitsToSingle(0xBF818000)));
        // specials: zeros and infinities stay, NaN stays NaN, the largest floats round to infinity, subnormals round too
        Assert.Equal(0x0000, BFloat16.Round(0f));
        Assert.Equal(0x8000, BFloat16.Round(-0f));
        Assert.Equal(0x7F80, BFloat16.Round(float.PositiveInfinity));
        Assert.Equal(0xFF80, BFloat16.Round(float.NegativeInfinity));
        Assert.True(float.IsNaN(BFloat16.Widen(BFloat16.Round(float.NaN))));
        Assert.True(float.IsNaN(BFloat16.Widen(BFloat16.Round(BitConverter.UInt32BitsToSingle(0x7F800001))))); // a NaN whose payload is all in the dropped half
        Assert.Equal(0x7F80, BFloat16.Round(float.MaxValue));
        Assert.Equal(0x0001, BFloat16.Round(BitConverter.UInt32BitsToSingle(0x00008001)));
    }

    [Fact]
    public void Bf16_rounding_is_the_nearest_value_for_any_finite_float() =>
        Prop.ForAll(Gen.Choose(int.MinValue, int.MaxValue).ToArbitrary(), bits =>
        {
            float value = BitConverter.Int32BitsToSingle(bits);
            if (!float.IsFinite(value)) return;
            ushort code = BFloat16.Round(value);
            Assert.Equal(NearestBf16(value), code);
            float back = BFloat16.Widen(code);
            if (float.IsFinite(back) && Math.Abs(value) >= 1e-37) // normal range: relative error at most half an ulp of 8 bits
                Assert.True(Math.Abs(back - (double)value) <= Math.Abs((double)value) * Math.Pow(2, -8), $"{value:R} → {back:R}");
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(20000).WithQuietOnSuccess(true));

    private static Gen<(int K, int N, int Seed, bool Transposed)> MatrixShapes =>
        from k in Gen.Frequency((9, Gen.Choose(0, 70)), (1, Gen.Choose(71, 300))) from n in Size from seed in Gen.Choose(0, int.MaxValue)
        from transposed in Gen.Elements(false, true) select (k, n, seed, transposed);

    /// <summary>[K,N] weights whose columns have magnitudes from 1e-3 to 1e3, some all zero, each with its largest entry negative or positive.</summary>
    private static float[] Weights(Random rng, int k, int n)
    {
        var b = new float[k * n];
        for (int j = 0; j < n; j++)
        {
            if (rng.Next(8) == 0) continue; // an all-zero column
            double magnitude = Math.Pow(10, rng.Next(-3, 4));
            for (int r = 0; r < k; r++) b[r * n + j] = (float)((rng.NextDouble() * 2 - 1) * magnitude);
        }
        return b;
    }

    private static float[] Transpose(float[] b, int k, int n)
    {
        var t = new float[n * k];
        for (int r = 0; r < k; r++)
            for (int j = 0; j < n; j++) t[j * k + r] = b[r * n + j];
        return t;
    }

    private static CompactMatrix Packed(WeightFormat format, float[] b, int k, int n, bool transposed)
    {
        var matrix = new CompactMatrix(format, k, n);
        if (transposed) matrix.PackTransposeOf(Transpose(b, k, n));
        else matrix.Pack(b);
        return matrix;
    }

    [Fact]
    public void Int8_weights_have_one_scale_per_column_and_round_to_the_nearest_code() => Prop.ForAll(MatrixShapes.ToArbitrary(), s =>
    {
        var rng = new Random(s.Seed);
        var b = Weights(rng, s.K, s.N);
        var matrix = Packed(WeightFormat.Int8, b, s.K, s.N, s.Transposed);
        for (int j = 0; j < s.N; j++)
        {
            float max = 0;
            for (int r = 0; r < s.K; r++) max = Math.Max(max, Math.Abs(b[r * s.N + j]));
            float scale = matrix.Scale(j);
            Assert.Equal(max / 127f, scale);
            for (int r = 0; r < s.K; r++)
            {
                float v = b[r * s.N + j];
                int q = matrix.Code(r, j);
                Assert.InRange(q, -127, 127);
                if (max == 0) { Assert.Equal(0, q); continue; }
                // nearest code: within half a step (plus the float division's rounding); the largest entry takes ±127
                Assert.True(Math.Abs(v - (double)scale * q) <= scale * (0.5 + 1e-5), $"B({r},{j}) = {v:R} → {q}·{scale:R}");
                if (Math.Abs(v) == max) Assert.Equal(Math.Sign(v) * 127, q);
                Assert.Equal((double)scale * q, matrix.Value(r, j));
            }
        }
    }).Check(Config.QuickThrowOnFailure.WithMaxTest(200).WithQuietOnSuccess(true));

    [Fact]
    public void Int8_codes_round_halves_to_even()
    {
        // a column whose largest magnitude is 127 has the scale 1 exactly: v/s = v, so 2.5 → 2, 3.5 → 4, −2.5 → −2, −0.5 → 0
        float[] column = [127f, 2.5f, 3.5f, -2.5f, -0.5f, 1.5f, -126.5f];
        var matrix = new CompactMatrix(WeightFormat.Int8, column.Length, 1);
        matrix.Pack(column);
        Assert.Equal(1f, matrix.Scale(0));
        Assert.Equal([127, 2, 4, -2, 0, 2, -126], Enumerable.Range(0, column.Length).Select(r => matrix.Code(r, 0)));
    }

    [Fact]
    public void Bf16_weights_store_the_rounded_values_in_either_layout() => Prop.ForAll(MatrixShapes.ToArbitrary(), s =>
    {
        var rng = new Random(s.Seed);
        var b = Weights(rng, s.K, s.N);
        var matrix = Packed(WeightFormat.Bf16, b, s.K, s.N, s.Transposed);
        for (int r = 0; r < s.K; r++)
            for (int j = 0; j < s.N; j++)
            {
                Assert.Equal(BFloat16.Round(b[r * s.N + j]), matrix.Code(r, j));
                Assert.Equal((double)BFloat16.Widen(BFloat16.Round(b[r * s.N + j])), matrix.Value(r, j));
            }
    }).Check(Config.QuickThrowOnFailure.WithMaxTest(100).WithQuietOnSuccess(true));

    [Fact]
    public void Int8_weights_must_be_finite_and_not_too_deep()
    {
        var matrix = new CompactMatrix(WeightFormat.Int8, 3, 2);
        Assert.Throws<ArgumentException>(() => matrix.Pack([1, 2, 3, float.NaN, 5, 6]));
        Assert.Throws<ArgumentException>(() => matrix.PackTransposeOf([1, 2, float.PositiveInfinity, 4, 5, 6]));
        Assert.Throws<ArgumentException>(() => matrix.Pack([1, 2, 3])); // too short
        // deeper than the 32-bit integer sums hold (K·127² ≥ 2³¹); bf16 has no such limit
        Assert.Throws<ArgumentOutOfRangeException>(() => new CompactMatrix(WeightFormat.Int8, CompactMatrix.MaxInt8Rows + 1, 1));
        Assert.Equal(CompactMatrix.MaxInt8Rows + 1, new CompactMatrix(WeightFormat.Bf16, CompactMatrix.MaxInt8Rows + 1, 1).Rows);
    }

    private static Gen<(int M, int K, int Seed)> RowShapes =>
        from m in Gen.Choose(1, 8) from k in Gen.Frequency((9, Gen.Choose(0, 70)), (1, Gen.Choose(71, 300))) from seed in Gen.Choose(0, int.MaxValue)
        select (m, k, seed);

    [Fact]
    public void Int8_activations_are_quantized_per_row_the_same_on_every_path() => Property(RowShapes, (policy, s) =>
    {
        // s_x = max|row| / 127 and q the nearest code, whether a lane is computed in a vector, in the overlapping last
        // vector or one at a time: the same codes as on the scalar path
        var rng = new Random(s.Seed);
        var x = new float[s.M * s.K];
        for (int r = 0; r < s.M; r++)
        {
            if (rng.Next(6) == 0) continue; // a zero row
            double magnitude = Math.Pow(10, rng.Next(-3, 4));
            for (int i = 0; i < s.K; i++) x[r * s.K + i] = (float)((rng.NextDouble() * 2 - 1) * magnitude);
        }
        var prepared = new CompactActivations(WeightFormat.Int8, 8, s.K);
        prepared.Prepare(policy, x, s.M);
        var scalar = new CompactActivations(WeightFormat.Int8, 8, s.K);
        scalar.Prepare(KernelPolicy.Scalar, x, s.M);
        Assert.Equal(s.M, prepared.Rows);
        for (int r = 0; r < s.M; r++)
        {
            float max = 0;
            for (int i = 0; i < s.K; i++) max = Math.Max(max, Math.Abs(x[r * s.K + i]));
            float scale = prepared.Scale(r);
            Assert.Equal(max / 127f, scale);
            for (int i = 0; i < s.K; i++)
            {
                int q = prepared.Code(r, i);
                Assert.Equal(scalar.Code(r, i), q);
                Assert.InRange(q, -127, 127);
                if (max == 0) Assert.Equal(0, q);
                else Assert.True(Math.Abs(x[r * s.K + i] - (double)scale * q) <= scale * (0.5 + 1e-5), $"x({r},{i}) = {x[r * s.K + i]:R} → {q}·{scale:R}");
            }
        }
    });

    [Fact]
    public void Int8_activations_round_halves_to_even_in_vectors_and_one_at_a_time() => ForEachPolicy(policy =>
    {
        // the row's largest magnitude is 127, so s = 1 and q = round(x): ties go to the even code on every lane, both in a
        // row long enough for vectors (40) and in one shorter than a vector (3 on the wider paths)
        foreach (int k in (int[])[40, 3])
        {
            var x = new float[k];
            for (int i = 0; i < k; i++) x[i] = (i % 4 - 1.5f) + (i % 2 == 0 ? -1 : 1); // −2.5, 0.5, −0.5, 2.5, …
            x[k - 1] = -127f;
            var prepared = new CompactActivations(WeightFormat.Int8, 1, k);
            prepared.Prepare(policy, x, 1);
            Assert.Equal(1f, prepared.Scale(0));
            for (int i = 0; i < k; i++) Assert.Equal((int)Math.Round(x[i], MidpointRounding.ToEven), prepared.Code(0, i));
        }
    });

    [Fact]
    public void Int8_activations_of_a_row_with_nan_or_infinity_get_a_nan_scale() => ForEachPolicy(policy =>
    {
        var x = new float[3 * 20];
        for (int i = 0; i < x.Length; i++) x[i] = i % 7 - 3;
        x[5] = float.NaN;
        x[20 + 19] = float.NegativeInfinity;
        var prepared = new CompactActivations(WeightFormat.Int8, 3, 20);
        prepared.Prepare(policy, x, 3);
        Assert.True(float.IsNaN(prepared.Scale(0)));
        Assert.True(float.IsNaN(prepared.Scale(1)));
        Assert.Equal(3f / 127f, prepared.Scale(2));
    });

    [Fact]
    public void Activations_reject_more_rows_than_they_hold_and_short_input()
    {
        var prepared = new CompactActivations(WeightFormat.Int8, 2, 5);
        Assert.Throws<ArgumentOutOfRangeException>(() => prepared.Prepare(KernelPolicy.Best, new float[15], 3));
        Assert.Throws<ArgumentException>(() => prepared.Prepare(KernelPolicy.Best, new float[9], 2));
    }
}
