/** Every built-in personal-data detector, one per PII type. */
import type { PiiType } from '../finding.js';
import { dateOfBirthDetector } from './date-of-birth.js';
import type { PiiDetector } from './detector.js';
import { emailDetector } from './email.js';
import { ibanDetector } from './iban.js';
import { ipAddressDetector } from './ip-address.js';
import { nationalIdDetector } from './national-ids.js';
import { passportDetector } from './passport.js';
import { paymentCardDetector } from './payment-card.js';
import { phoneDetector } from './phone.js';
import { usSsnDetector } from './us-ssn.js';

export type { PiiDetector } from './detector.js';

export const PII_DETECTORS: Readonly<Record<PiiType, PiiDetector>> = {
  email: emailDetector,
  phone: phoneDetector,
  credit_card: paymentCardDetector,
  iban: ibanDetector,
  us_ssn: usSsnDetector,
  ip_address: ipAddressDetector,
  national_id: nationalIdDetector,
  passport: passportDetector,
  date_of_birth: dateOfBirthDetector,
};
