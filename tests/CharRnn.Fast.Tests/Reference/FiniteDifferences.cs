using Xunit;

namespace CharRnn.Fast.Tests.Reference;

/// <summary>Analytic gradients against central finite differences, element by element, in double precision.</summary>
internal static class FiniteDifferences
{
    private const double Step = 1e-6;

    /// <summary>
    /// For every element of every tensor: (f(x+δ) − f(x−δ)) / 2δ must equal the analytic gradient to 1e-6 relative.
    /// With <paramref name="kinks"/> (relu) a kink inside ±δ bends the secant by up to the jump in slope, which the two
    /// one-sided differences measure: their disagreement widens the tolerance there and only there.
    /// </summary>
    public static void Check(IEnumerable<(string Name, double[] Value, double[] Gradient)> tensors, Func<double> objective, bool kinks, string what)
    {
        double center = kinks ? objective() : 0;
        foreach (var (name, value, gradient) in tensors)
        {
            Assert.Equal(value.Length, gradient.Length);
            for (int k = 0; k < value.Length; k++)
            {
                double saved = value[k];
                value[k] = saved + Step; double up = objective();
                value[k] = saved - Step; double down = objective();
                value[k] = saved;
                double numeric = (up - down) / (2 * Step);
                double tolerance = 1e-6 * (1 + Math.Abs(numeric)) + (kinks ? Math.Abs(up - 2 * center + down) / Step : 0);
                Assert.True(Math.Abs(numeric - gradient[k]) <= tolerance, $"{what} d{name}[{k}]: analytic {gradient[k]:R}, numeric {numeric:R}");
            }
        }
    }
}
