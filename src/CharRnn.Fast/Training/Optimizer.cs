using CharRnn.Fast.Kernels;
using CharRnn.Fast.Model;

namespace CharRnn.Fast.Training;

/// <summary>
/// Gradient clipping and the parameter update, each one loop over the flat parameter block. Moments share the
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
    /// Clips <paramref name="gradient"/> in place: element-wise to ±<paramref name="clipValue"/> (0 = off), then to global
    /// norm ≤ <paramref name="clipNorm"/> (0 = off). Returns ‖g‖₂ before clipping: NaN or ∞ when the gradient is not finite.
    /// </summary>
    public static double Clip(KernelPolicy policy, Span<float> gradient, double clipValue, double clipNorm)
    {
        double norm = Math.Sqrt(Reductions.SumOfSquares(policy, gradient));
        if (!double.IsFinite(norm)) return norm;
        if (clipValue > 0) Elementwise.Apply(policy, new ClipOperator((float)clipValue), gradient);
        if (clipNorm > 0)
        {
            double clippedNorm = clipValue > 0 ? Math.Sqrt(Reductions.SumOfSquares(policy, gradient)) : norm;
            if (clippedNorm > clipNorm) Elementwise.Apply(policy, new ScaleOperator((float)(clipNorm / clippedNorm)), gradient);
        }
        return norm;
    }

    /// <summary>One update p ← p − step(g) with the options' hyper-parameters and learning rate <paramref name="learningRate"/>.</summary>
    public void Update(KernelPolicy policy, RnnParameters parameters, RnnParameters gradient, TrainingOptions options, double learningRate)
    {
        StepCount++;
        float lr = (float)learningRate;
        switch (Kind)
        {
            case OptimizerKind.Sgd:
                Elementwise.Apply(policy, new SgdOperator(lr), parameters.All, gradient.All);
                break;
            case OptimizerKind.Adagrad:
                Elementwise.Apply(policy, new AdagradOperator(lr, (float)options.Epsilon), parameters.All, gradient.All, FirstMoment!.All);
                break;
            case OptimizerKind.RmsProp:
                Elementwise.Apply(policy, new RmsPropOperator(learningRate, options.Alpha, options.Epsilon), parameters.All, gradient.All, FirstMoment!.All);
                break;
            default:
                Elementwise.Apply(policy, new AdamOperator(learningRate, options.Beta1, options.Beta2, options.Epsilon, StepCount),
                    parameters.All, gradient.All, FirstMoment!.All, SecondMoment!.All);
                break;
        }
    }
}
