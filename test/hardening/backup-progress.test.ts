import { formatBytes, secondsSince } from '../../src/database/backup/backup';

/** The sizes and times in backup's and restore's progress lines: one decimal, rounded half up, in integer arithmetic. */
describe('backup progress figures', () => {
  it('writes sizes in B, KiB and MiB to one decimal', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(1023)).toBe('1023 B');
    expect(formatBytes(1024)).toBe('1.0 KiB');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    // 1,075 bytes are 1.0498 KiB; 1,076 are 1.0508.
    expect(formatBytes(1075)).toBe('1.0 KiB');
    expect(formatBytes(1076)).toBe('1.1 KiB');
    expect(formatBytes(1024 * 1024 - 1)).toBe('1024.0 KiB');
    expect(formatBytes(1024 * 1024)).toBe('1.0 MiB');
    expect(formatBytes(Math.round(2.25 * 1024 * 1024))).toBe('2.3 MiB');
    expect(formatBytes(300 * 1024 * 1024 * 1024)).toBe('307200.0 MiB');
  });

  it('writes the time since a start in seconds to one decimal', () => {
    expect(secondsSince(Date.now() - 12_300)).toBe('12.3');
    expect(secondsSince(Date.now())).toBe('0.0');
  });
});
