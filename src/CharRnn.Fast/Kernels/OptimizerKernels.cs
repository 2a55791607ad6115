using System.Runtime.CompilerServices;

namespace CharRnn.Fast.Kernels;

/// <summary>
/// The clipping an update applies to each gradient element as it reads it: g ← s·clamp(g, −c, c) (c = 0: no clamp, s = 1:
/// no rescale), the same float operations as clamping and then rescaling the gradient in place, without a pass of their
/// own over it. The update operators read g through <see cref="Load{TS, TV}"/>; they leave g itself as it was.
/// </summary>
internal readonly struct GradientClip(float limit, float scale)
{
    public static GradientClip None => new(0, 1);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public TV Load<TS, TV>(ref float g) where TS : ISimd<TV> where TV : struct
    {
        TV x = TS.Load(in g);
        if (limit > 0) x = TS.Clamp(x, TS.Create(-limit), TS.Create(limit));
        if (scale != 1) x = TS.Multiply(x, TS.Create(scale));
        return x;
    }
}

/// <summary>SGD: p −= lr·g.   Operands: (p, g).</summary>
internal readonly struct SgdOperator(float learningRate, GradientClip clip) : IElementwiseOperator
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Invoke<TS, TV>(ref float p, ref float g, ref float unused2, ref float unused3) where TS : ISimd<TV> where TV : struct
        => TS.Store(TS.MultiplyAdd(TS.Create(-learningRate), clip.Load<TS, TV>(ref g), TS.Load(in p)), ref p);
}

/// <summary>Adagrad as min-char-rnn: mem += g²; p −= lr·g / √(mem + ε).   Operands: (p, g, mem).</summary>
internal readonly struct AdagradOperator(float learningRate, float epsilon, GradientClip clip) : IElementwiseOperator
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Invoke<TS, TV>(ref float p, ref float g, ref float mem, ref float unused3) where TS : ISimd<TV> where TV : struct
    {
        TV gv = clip.Load<TS, TV>(ref g);
        TV m = TS.MultiplyAdd(gv, gv, TS.Load(in mem));
        TS.Store(m, ref mem);
        TV step = TS.Divide(TS.Multiply(TS.Create(learningRate), gv), TS.Sqrt(TS.Add(m, TS.Create(epsilon))));
        TS.Store(TS.Subtract(TS.Load(in p), step), ref p);
    }
}

/// <summary>
/// Adam with bias correction: m = β1·m + (1−β1)·g;  v = β2·v + (1−β2)·g²;
/// p −= lr · (m / (1−β1ᵗ)) / (√(v / (1−β2ᵗ)) + ε).   Operands: (p, g, m, v).
/// </summary>
internal readonly struct AdamOperator(double learningRate, double beta1, double beta2, double epsilon, long step, GradientClip clip) : IElementwiseOperator
{
    // Constants are formed in double: 1 − β2 from a float β2 = 0.9999 would be off by 2e-4 relative.
    private readonly float _beta1 = (float)beta1, _oneMinusBeta1 = (float)(1 - beta1);
    private readonly float _beta2 = (float)beta2, _oneMinusBeta2 = (float)(1 - beta2);
    private readonly float _epsilon = (float)epsilon;
    private readonly float _stepSize = (float)(learningRate / (1 - Math.Pow(beta1, step)));
    private readonly float _inverseCorrection2 = (float)(1 / (1 - Math.Pow(beta2, step)));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Invoke<TS, TV>(ref float p, ref float g, ref float m, ref float v) where TS : ISimd<TV> where TV : struct
    {
        TV gv = clip.Load<TS, TV>(ref g);
        TV mv = TS.MultiplyAdd(TS.Create(_beta1), TS.Load(in m), TS.Multiply(TS.Create(_oneMinusBeta1), gv));
        TV vv = TS.MultiplyAdd(TS.Create(_beta2), TS.Load(in v), TS.Multiply(TS.Create(_oneMinusBeta2), TS.Multiply(gv, gv)));
        TS.Store(mv, ref m);
        TS.Store(vv, ref v);
        TV denominator = TS.Add(TS.Sqrt(TS.Multiply(vv, TS.Create(_inverseCorrection2))), TS.Create(_epsilon));
        TS.Store(TS.Subtract(TS.Load(in p), TS.Divide(TS.Multiply(TS.Create(_stepSize), mv), denominator)), ref p);
    }
}

/// <summary>
/// Clipping in place: g = s·clamp(g, −c, c) (np.clip as in the seeds, then the global-norm rescale).   Operands: (g).
/// </summary>
internal readonly struct ClipOperator(GradientClip clip) : IElementwiseOperator
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Invoke<TS, TV>(ref float g, ref float unused1, ref float unused2, ref float unused3) where TS : ISimd<TV> where TV : struct
        => TS.Store(clip.Load<TS, TV>(ref g), ref g);
}

/// <summary>
/// RMSprop as char-rnn's optim.rmsprop (and PyTorch's RMSprop): m = α·m + (1−α)·g²;  p −= lr·g / (√m + ε).
/// Operands: (p, g, m).
/// </summary>
internal readonly struct RmsPropOperator(double learningRate, double alpha, double epsilon, GradientClip clip) : IElementwiseOperator
{
    private readonly float _learningRate = (float)learningRate, _alpha = (float)alpha, _oneMinusAlpha = (float)(1 - alpha), _epsilon = (float)epsilon;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Invoke<TS, TV>(ref float p, ref float g, ref float m, ref float unused3) where TS : ISimd<TV> where TV : struct
    {
        TV gv = clip.Load<TS, TV>(ref g);
        TV mv = TS.MultiplyAdd(TS.Create(_alpha), TS.Load(in m), TS.Multiply(TS.Create(_oneMinusAlpha), TS.Multiply(gv, gv)));
        TS.Store(mv, ref m);
        TV step = TS.Divide(TS.Multiply(TS.Create(_learningRate), gv), TS.Add(TS.Sqrt(mv), TS.Create(_epsilon)));
        TS.Store(TS.Subtract(TS.Load(in p), step), ref p);
    }
}
