using System.Runtime.CompilerServices;

namespace CharRnn.Fast.Kernels;

/// <summary>
/// Fast tanh: tanh(x) ≈ x·P(x²)/Q(x²), a [13/6] rational minimax fit on |x| ≤ 7.9053 (beyond it tanh rounds to ±1
/// in float). Maximum absolute error against <see cref="Math.Tanh(double)"/> is below 1e-6 on every path
/// (checked in <c>ActivationTests</c>); beyond the clamp, including ±∞, it returns ±0.99999976; NaN in gives NaN out.
/// </summary>
internal static class TanhApproximation
{
    private const float Clamp = 7.90531110763549805f;
    private const float A1 = 4.89352455891786e-03f, A3 = 6.37261928875436e-04f, A5 = 1.48572235717979e-05f,
        A7 = 5.12229709037114e-08f, A9 = -8.60467152213735e-11f, A11 = 2.00018790482477e-13f, A13 = -2.76076847742355e-16f;
    private const float B0 = 4.89352518554385e-03f, B2 = 2.26843463243900e-03f, B4 = 1.18534705686654e-04f, B6 = 1.19825839466702e-06f;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TVec Tanh<TS, TVec>(TVec x) where TS : ISimd<TVec> where TVec : struct
    {
        x = TS.Clamp(x, TS.Create(-Clamp), TS.Create(Clamp));
        TVec x2 = TS.Multiply(x, x);
        TVec p = TS.MultiplyAdd(TS.Create(A13), x2, TS.Create(A11));
        p = TS.MultiplyAdd(p, x2, TS.Create(A9));
        p = TS.MultiplyAdd(p, x2, TS.Create(A7));
        p = TS.MultiplyAdd(p, x2, TS.Create(A5));
        p = TS.MultiplyAdd(p, x2, TS.Create(A3));
        p = TS.MultiplyAdd(p, x2, TS.Create(A1));
        p = TS.Multiply(p, x);
        TVec q = TS.MultiplyAdd(TS.Create(B6), x2, TS.Create(B4));
        q = TS.MultiplyAdd(q, x2, TS.Create(B2));
        q = TS.MultiplyAdd(q, x2, TS.Create(B0));
        return TS.Divide(p, q);
    }
}

/// <summary>
/// Fast exp: e^x = 2ⁿ·e^r with n = round(x·log₂e) and r = x − n·ln 2 (ln 2 split in two for exactness), e^r by a
/// degree-7 polynomial (Cephes' expf), 2ⁿ from the exponent bits. Inputs are clamped to [−87.3, 88.37] (so 2ⁿ stays a normal float; results from
/// about 1.2e-38 to 2.5e38), NaN in gives NaN out; maximum relative error against <see cref="Math.Exp(double)"/> is below 2e-7 on every path
/// (checked in <c>ActivationTests</c>). Written here rather than taken from the runtime so every build and target
/// framework runs the same, fast code.
/// </summary>
internal static class ExpApproximation
{
    private const float Low = -87.3f, High = 88.37f, Log2E = 1.44269504088896341f, Ln2Hi = 0.693359375f, Ln2Lo = -2.12194440e-4f;
    private const float P0 = 1.9875691500e-4f, P1 = 1.3981999507e-3f, P2 = 8.3334519073e-3f, P3 = 4.1665795894e-2f, P4 = 1.6666665459e-1f, P5 = 5.0000001201e-1f;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TVec Exp<TS, TVec>(TVec x) where TS : ISimd<TVec> where TVec : struct
    {
        x = TS.Clamp(x, TS.Create(Low), TS.Create(High));
        TVec n = TS.Round(TS.Multiply(x, TS.Create(Log2E)));
        TVec r = TS.MultiplyAdd(n, TS.Create(-Ln2Hi), x);
        r = TS.MultiplyAdd(n, TS.Create(-Ln2Lo), r);
        TVec p = TS.MultiplyAdd(TS.Create(P0), r, TS.Create(P1));
        p = TS.MultiplyAdd(p, r, TS.Create(P2));
        p = TS.MultiplyAdd(p, r, TS.Create(P3));
        p = TS.MultiplyAdd(p, r, TS.Create(P4));
        p = TS.MultiplyAdd(p, r, TS.Create(P5));
        p = TS.MultiplyAdd(p, TS.Multiply(r, r), TS.Add(r, TS.Create(1f)));
        return TS.ScaleByPowerOfTwo(p, n);
    }
}

/// <summary>
/// What a GEMM does to each accumulated element before storing it: out = f(acc, aux), where aux is the element of a
/// second [M,N] matrix at the same position (only read when <see cref="UsesAux"/>).
/// </summary>
internal interface IEpilogue
{
    /// <summary>True for the plain GEMM, whose tiles then skip the epilogue pass.</summary>
    static virtual bool IsIdentity => false;
    static abstract bool UsesAux { get; }
    static abstract TVec Apply<TS, TVec>(TVec acc, TVec aux) where TS : ISimd<TVec> where TVec : struct;
}

/// <summary>out = acc (a plain GEMM).</summary>
internal readonly struct NoEpilogue : IEpilogue
{
    public static bool IsIdentity => true;
    public static bool UsesAux => false;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TVec Apply<TS, TVec>(TVec acc, TVec aux) where TS : ISimd<TVec> where TVec : struct => acc;
}

/// <summary>Forward cell, tanh: h = tanh(acc).</summary>
internal readonly struct TanhEpilogue : IEpilogue
{
    public static bool UsesAux => false;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TVec Apply<TS, TVec>(TVec acc, TVec aux) where TS : ISimd<TVec> where TVec : struct => TanhApproximation.Tanh<TS, TVec>(acc);
}

/// <summary>Forward cell, relu: h = max(acc, 0).</summary>
internal readonly struct ReluEpilogue : IEpilogue
{
    public static bool UsesAux => false;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TVec Apply<TS, TVec>(TVec acc, TVec aux) where TS : ISimd<TVec> where TVec : struct => TS.Max(acc, TS.Zero);
}

/// <summary>Backward through tanh: draw = (1 − h²) ⊙ acc, with aux = h = tanh(pre).</summary>
internal readonly struct TanhGradientEpilogue : IEpilogue
{
    public static bool UsesAux => true;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TVec Apply<TS, TVec>(TVec acc, TVec aux) where TS : ISimd<TVec> where TVec : struct
        => TS.Multiply(acc, TS.Subtract(TS.Create(1f), TS.Multiply(aux, aux)));
}

/// <summary>Backward through relu: draw = acc where h &gt; 0, else 0, with aux = h.</summary>
internal readonly struct ReluGradientEpilogue : IEpilogue
{
    public static bool UsesAux => true;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TVec Apply<TS, TVec>(TVec acc, TVec aux) where TS : ISimd<TVec> where TVec : struct => TS.WherePositive(aux, acc);
}
