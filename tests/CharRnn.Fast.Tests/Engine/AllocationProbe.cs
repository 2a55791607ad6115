namespace CharRnn.Fast.Tests.Engine;

/// <summary>Counts what a piece of steady-state work allocates on the calling thread.</summary>
internal static class AllocationProbe
{
    /// <summary>
    /// Bytes this thread allocates running <paramref name="work"/>, the least over a few windows, each after a full
    /// collection. An allocation the code makes shows in every window; the thread's counter was seen to jump by a few
    /// kilobytes in one window in many runs, which no code path of the work allocates (a collection started elsewhere in
    /// the process during the window is the likely cause), and never in two.
    /// </summary>
    public static long Steady(Action work, int windows = 3)
    {
        long least = long.MaxValue;
        for (int w = 0; w < windows && least != 0; w++)
        {
            GC.Collect();
            long before = GC.GetAllocatedBytesForCurrentThread();
            work();
            least = Math.Min(least, GC.GetAllocatedBytesForCurrentThread() - before);
        }
        return least;
    }
}
