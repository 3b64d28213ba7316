// A workflows entry for tests: the admission workflow exactly as it ran before 'admission-decide-in-loop'
// (./../../../workflows/admission-v1.ts with its move to the current code switched off), so a test can
// record a history with the previous code and then hand the run to a worker of the current code.
import type { AdmissionInput } from '../../../definitions/admission.ts';
import { admissionV1 } from '../../../workflows/admission-v1.ts';

export async function admission(input: AdmissionInput = {}): Promise<void> {
  return admissionV1(input, () => false);
}
