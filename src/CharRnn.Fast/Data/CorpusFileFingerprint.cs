namespace CharRnn.Fast.Data;

/// <summary>
/// One input of a token store as it was read: full path, size in bytes, last-write time (UTC) and the SHA-256 of its
/// bytes (lowercase hex), computed while the store was encoded.
/// </summary>
public sealed record CorpusFileFingerprint(string Path, long Size, DateTime LastWriteTimeUtc, string Sha256);
