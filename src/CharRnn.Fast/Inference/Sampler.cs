using CharRnn.Fast.Kernels;
using CharRnn.Fast.Model;

namespace CharRnn.Fast.Inference;

/// <summary>
/// A model's outputs (logits) were NaN or infinite, so no character can be drawn: its weights are so large that the
/// products overflow (the weights of a diverged run). Nothing was fed to the generator.
/// </summary>
public sealed class NonFiniteOutputException() : Exception("the model's outputs overflow (its weights are so large, as a diverged run's are, that the logits are not finite): nothing can be sampled from it");

/// <summary>Draws a token from logits: greedy, temperature, top-k, top-p. Allocation-free over caller buffers.</summary>
internal static class Sampler
{
    /// <summary>
    /// Samples from <paramref name="logits"/> (overwritten with probabilities). <paramref name="keys"/> and
    /// <paramref name="order"/> ([V] each) are scratch for top-k / top-p.
    /// </summary>
    /// <param name="logits">[V]</param>
    public static int Sample(KernelPolicy policy, Span<float> logits, in SamplingOptions options, Rng rng, Span<float> keys, Span<int> order)
    {
        if (options.IsGreedy)
        {
            foreach (float x in logits) if (!float.IsFinite(x)) throw new NonFiniteOutputException();
            return ArgMax(logits);
        }
        // a NaN logit, or infinite ones (∞ − ∞), make the softmax NaN
        if (float.IsNaN(Softmax.InPlace(policy, logits, SamplingOptions.InverseTemperature(options.Temperature)))) throw new NonFiniteOutputException();
        int v = logits.Length;
        bool truncate = (options.TopK > 0 && options.TopK < v) || options.TopP < 1;
        if (!truncate) return Draw(logits, 1.0, rng);

        int kept = options.TopK > 0 ? Math.Min(options.TopK, v) : v;
        if (options.TopP >= 1 && kept <= 32) SelectLargest(logits, kept, keys, order);   // O(V·k), no sort
        else
        {
            // most likely first: sort (−p, id) pairs
            for (int i = 0; i < v; i++) { keys[i] = -logits[i]; order[i] = i; }
            keys.Slice(0, v).Sort(order.Slice(0, v));
        }
        double mass = 0;
        for (int i = 0; i < kept; i++)
        {
            mass += -keys[i];
            if (mass >= options.TopP) { kept = i + 1; break; }
        }
        // draw among the kept tokens in probability order
        double u = rng.NextDouble() * mass, cumulative = 0;
        for (int i = 0; i < kept; i++)
        {
            cumulative += -keys[i];
            if (u < cumulative) return order[i];
        }
        return order[kept - 1];
    }

    /// <summary>
    /// The k largest of <paramref name="p"/>, most likely first, into keys (as −p, like the sorted path) and order, by
    /// insertion into a k-slot list: one pass over V with a short shift per newcomer.
    /// </summary>
    private static void SelectLargest(ReadOnlySpan<float> p, int k, Span<float> keys, Span<int> order)
    {
        int count = 0;
        for (int i = 0; i < p.Length; i++)
        {
            float key = -p[i];
            if (count == k && key >= keys[k - 1]) continue; // not among the k best so far (ties keep the lower id)
            int at = count < k ? count++ : k - 1;
            while (at > 0 && keys[at - 1] > key) { keys[at] = keys[at - 1]; order[at] = order[at - 1]; at--; }
            keys[at] = key;
            order[at] = i;
        }
    }

    /// <summary>Index of the largest value (the first one on ties).</summary>
    public static int ArgMax(ReadOnlySpan<float> x)
    {
        int best = 0;
        for (int i = 1; i < x.Length; i++) if (x[i] > x[best]) best = i;
        return best;
    }

    private static int Draw(ReadOnlySpan<float> p, double total, Rng rng)
    {
        double u = rng.NextDouble() * total, cumulative = 0;
        for (int i = 0; i < p.Length; i++)
        {
            cumulative += p[i];
            if (u < cumulative) return i;
        }
        // rounding left u above the float sum: the last token with mass
        for (int i = p.Length - 1; i > 0; i--) if (p[i] > 0) return i;
        return 0;
    }
}
