using CharRnn.Fast.Kernels;
using CharRnn.Fast.Model;

namespace CharRnn.Fast.Training;

/// <summary>
/// Gradient clipping and the parameter update over the flat parameter block: a training step reads the gradient once for
/// its norm and once for the update, which clips each element as it reads it. Moments share the
/// parameters' layout: Adagrad's memory and RMSprop's mean square in <see cref="FirstMoment"/>; Adam's m and v in the
/// first and second.
/// </summary>
public sealed class Optimizer
{
    /// <summary>Fresh state for <paramref name="kind"/> over <paramref name="shape"/>.</summary>
    public Optimizer(OptimizerKind kind, RnnShape shape)
    {
        Kind = kind;
        if (kind != OptimizerKind.Sgd) FirstMoment = new RnnParameters(shape);
        if (kind == OptimizerKind.Adam) SecondMoment = new RnnParameters(shape);
    }

    public OptimizerKind Kind { get; }

    /// <summary>Updates applied so far (Adam's t).</summary>
    public long StepCount { get; set; }

    /// <summary>Adagrad: Σg². RMSprop: the mean square. Adam: m. SGD: null.</summary>
    public RnnParameters? FirstMoment { get; }

    /// <summary>Adam: v. Otherwise null.</summary>
    public RnnParameters? SecondMoment { get; }

    /// <summary>
    /// One training step's end: clips the gradient element-wise to ±<see cref="TrainingOptions.ClipValue"/> (0 = off), then
    /// to global norm ≤ <see cref="TrainingOptions.ClipNorm"/> (0 = off), and updates as
    /// <see cref="Update(KernelPolicy, RnnParameters, RnnParameters, TrainingOptions, double)"/> does. The update applies the
    /// clip as it reads each gradient element, so clipping takes no pass of its own (the gradient is left unclipped, or only
    /// clamped when both clips are on). Returns ‖g‖₂ before clipping; when that is not finite nothing changes.
    /// </summary>
    public double ClipAndUpdate(KernelPolicy policy, RnnParameters parameters, RnnParameters gradient, TrainingOptions options, double learningRate)
    {
        var clip = PlanClip(policy, gradient.All, options.ClipValue, options.ClipNorm, out double norm);
        if (double.IsFinite(norm)) Update(policy, parameters, gradient, options, learningRate, clip);
        return norm;
    }

    /// <summary>One update p ← p − step(g) with the options' hyper-parameters and learning rate <paramref name="learningRate"/>.</summary>
    public void Update(KernelPolicy policy, RnnParameters parameters, RnnParameters gradient, TrainingOptions options, double learningRate)
        => Update(policy, parameters, gradient, options, learningRate, GradientClip.None);

    // ‖g‖₂ and the clip that applies: the global-norm rescale needs the norm after the element-wise clamp, so when both
    // are on (the one case that needs it) the clamp is done in place first and the rescale is what remains.
    private static GradientClip PlanClip(KernelPolicy policy, Span<float> gradient, double clipValue, double clipNorm, out double norm)
    {
        norm = Math.Sqrt(Reductions.SumOfSquares(policy, gradient));
        float limit = clipValue > 0 ? (float)clipValue : 0;
        if (!double.IsFinite(norm) || clipNorm <= 0) return new GradientClip(limit, 1);
        double clippedNorm = norm;
        if (limit > 0)
        {
            Elementwise.Apply(policy, new ClipOperator(new GradientClip(limit, 1)), gradient);
            clippedNorm = Math.Sqrt(Reductions.SumOfSquares(policy, gradient));
        }
        return new GradientClip(0, clippedNorm > clipNorm ? (float)(clipNorm / clippedNorm) : 1);
    }

    private void Update(KernelPolicy policy, RnnParameters parameters, RnnParameters gradient, TrainingOptions options, double learningRate, GradientClip clip)
    {
        StepCount++;
        float lr = (float)learningRate;
        switch (Kind)
        {
            case OptimizerKind.Sgd:
                Elementwise.Apply(policy, new SgdOperator(lr, clip), parameters.All, gradient.All);
                break;
            case OptimizerKind.Adagrad:
                Elementwise.Apply(policy, new AdagradOperator(lr, (float)options.Epsilon, clip), parameters.All, gradient.All, FirstMoment!.All);
                break;
            case OptimizerKind.RmsProp:
                Elementwise.Apply(policy, new RmsPropOperator(learningRate, options.Alpha, options.Epsilon, clip), parameters.All, gradient.All, FirstMoment!.All);
                break;
            default:
                Elementwise.Apply(policy, new AdamOperator(learningRate, options.Beta1, options.Beta2, options.Epsilon, StepCount, clip),
                    parameters.All, gradient.All, FirstMoment!.All, SecondMoment!.All);
                break;
        }
    }
}
