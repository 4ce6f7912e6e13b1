namespace HardenedGateway.Prometheus;

/// <summary>One published snapshot: its number and the whole server-sent event (<c>data: {json}\n\n</c>, UTF-8), shared by every viewer.</summary>
internal sealed record StatusSnapshot(long Sequence, ReadOnlyMemory<byte> Event);
