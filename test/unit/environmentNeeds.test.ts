import { strict as assert } from 'node:assert';
import { diskShortfall, formatGigabytes, pipFailedOnNetwork, pipFailureReason, TRAINER_ENVIRONMENT_BYTES } from '../../extension/src/model/environmentNeeds';

describe('Create Trainer Environment: disk and pip failures', () => {
  it('reports pip\'s last ERROR line (pip prints it at the end of its output)', () => {
    // The tail of a real pip 25 run that filled the disk while unpacking the nvidia wheels.
    const lines = [
      'Collecting nvidia-cublas-cu12==12.8.4.1 (from torch==2.15.0->-r requirements.txt (line 2))',
      '  Using cached nvidia_cublas_cu12-12.8.4.1-py3-none-manylinux_2_27_x86_64.whl (594.3 MB)',
      'Installing collected packages: nvidia-cublas-cu12, torch',
      'ERROR: Could not install packages due to an OSError: [Errno 28] No space left on device',
      '',
    ];
    assert.equal(pipFailureReason(lines), 'Could not install packages due to an OSError: [Errno 28] No space left on device');
    assert.equal(pipFailureReason(['ERROR: first', 'ERROR: No matching distribution found for torch==2.15.0']), 'No matching distribution found for torch==2.15.0');
    assert.equal(pipFailureReason(['Collecting torch', 'Killed']), undefined, 'no ERROR line: no reason invented');
    // pip crashing while it downloads onto a full disk (seen in code-server on a 1.2 GB tmpfs): its own ERROR line
    // is "Exception:", and the reason is the traceback's last line.
    const crashed = [
      'ERROR: Exception:',
      'Traceback (most recent call last):',
      '  File "/env/lib/python3.11/site-packages/pip/_vendor/cachecontrol/filewrapper.py", line 94, in read',
      '    self.__buf.write(data)',
      'OSError: [Errno 28] No space left on device',
      'During handling of the above exception, another exception occurred:',
      'Traceback (most recent call last):',
      '  File "/env/lib/python3.11/site-packages/pip/_vendor/urllib3/response.py", line 443, in _error_catcher',
      '    raise ProtocolError("Connection broken: %r" % e, e)',
      'pip._vendor.urllib3.exceptions.ProtocolError: ("Connection broken: OSError(28, \'No space left on device\')", OSError(28, \'No space left on device\'))',
    ];
    assert.equal(pipFailureReason(crashed), crashed[crashed.length - 1]);
    assert.equal(pipFailureReason(crashed.slice(0, 5)), 'OSError: [Errno 28] No space left on device');
    assert.equal(pipFailureReason(['ERROR: Exception:', 'Traceback (most recent call last):']), undefined);
    const long = pipFailureReason([`ERROR: ${'x'.repeat(1000)}`])!;
    assert.equal(long.length, 300);
    assert.ok(long.endsWith('…'));
  });

  it('says how much the environment takes and how much is free when the disk is short', () => {
    assert.equal(diskShortfall(TRAINER_ENVIRONMENT_BYTES, '/data/env'), undefined, 'exactly enough is enough');
    assert.equal(diskShortfall(100 * 1024 ** 3, '/data/env'), undefined);
    assert.equal(
      diskShortfall(1.25 * 1024 ** 3, '/data/env'),
      'the trainer environment takes about 6.5 GB (torch with its CUDA libraries), and the disk holding /data/env has 1.3 GB free',
    );
    assert.equal(formatGigabytes(287 * 1024 ** 2), '0.3 GB');
  });

  it('tries pip once more after a broken download, never after a full disk or a missing package', () => {
    const broken = [
      'Collecting torch==2.15.0',
      '  Downloading torch-2.15.0-cp311-cp311-manylinux_2_28_x86_64.whl (899.7 MB)',
      'ERROR: Exception:',
      'pip._vendor.urllib3.exceptions.ProtocolError: ("Connection broken: IncompleteRead(412000000 bytes read, 487700000 more expected)", IncompleteRead(412000000 bytes read, 487700000 more expected))',
    ];
    assert.equal(pipFailedOnNetwork(broken), true);
    assert.equal(pipFailedOnNetwork(['pip._vendor.urllib3.exceptions.ReadTimeoutError: HTTPSConnectionPool(host=\'files.pythonhosted.org\', port=443): Read timed out.']), true);
    // The full-disk crash seen in code-server is a ProtocolError too; another try would fill the disk again.
    assert.equal(pipFailedOnNetwork(['pip._vendor.urllib3.exceptions.ProtocolError: ("Connection broken: OSError(28, \'No space left on device\')", OSError(28, \'No space left on device\'))']), false);
    assert.equal(pipFailedOnNetwork(['ERROR: Could not find a version that satisfies the requirement torch==2.15.0', 'ERROR: No matching distribution found for torch==2.15.0']), false);
    assert.equal(pipFailedOnNetwork(['Killed']), false);
  });
});
