using CharRnn.Fast.Model;

namespace CharRnn.Fast.Training;

/// <summary>Mean cross-entropy of a model over a text.</summary>
/// <param name="NatsPerChar">mean −ln p per prediction</param>
/// <param name="Predictions">N − 1 next-character predictions</param>
public readonly record struct Evaluation(double NatsPerChar, long Predictions)
{
    public double BitsPerChar => NatsPerChar / Math.Log(2);
    public double Perplexity => Math.Exp(NatsPerChar);
}

/// <summary>Evaluates a model on every next-character prediction of a token sequence.</summary>
public static class Evaluator
{
    /// <summary>
    /// Mean −ln p(token_{i+1} | token_0..i) over i = 0..N−2, the hidden state starting at zero and carried across the
    /// whole sequence (reset at boundary tokens in sequence models). Processed in chunks of <paramref name="chunk"/>;
    /// <paramref name="cancellation"/> is checked before each one (a long pass stops within a chunk of a request), and
    /// throws <see cref="OperationCanceledException"/>.
    /// </summary>
    public static Evaluation Evaluate(CharRnnModel model, ReadOnlySpan<int> tokens, int chunk = 512, Kernels.KernelPolicy? policy = null, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (tokens.Length < 2) throw new ArgumentException($"evaluation needs at least 2 characters (got {tokens.Length})");
        int predictions = tokens.Length - 1;
        int steps = Math.Min(chunk, predictions);
        var bptt = new TruncatedBptt(model.Parameters.Shape, steps, 1, policy ?? Kernels.KernelPolicy.Default, model.Nonlinearity);
        var state = new float[model.Parameters.Shape.StateSize(1)];
        double total = 0;
        for (int start = 0; start < predictions; start += steps)
        {
            cancellation.ThrowIfCancellationRequested();
            int n = Math.Min(steps, predictions - start);
            total += bptt.Loss(model.Parameters, tokens.Slice(start, n), tokens.Slice(start + 1, n), state, model.BoundaryToken);
        }
        return new Evaluation(total / predictions, predictions);
    }
}
