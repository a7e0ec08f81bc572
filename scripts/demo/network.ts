/**
 * The demo network, as data: who is in it, what they offer and need, and six weeks of what
 * happened. Everything here is fixed (the "random" exchanges come from a seeded generator), so a
 * second run asks for exactly the same operations and the ledger's idempotency returns the
 * first results instead of posting again.
 */

export interface DemoOrganisation {
  readonly kind: 'COMMUNITY' | 'COOPERATIVE' | 'CREDIT_UNION' | 'LAND_TRUST';
  readonly name: string;
  readonly handle: string;
}

export const TIME_BANK: DemoOrganisation = { kind: 'COMMUNITY', name: 'Riverside Time Bank', handle: '@riverside-timebank' };
export const CO_OP: DemoOrganisation = { kind: 'COOPERATIVE', name: 'Riverwest Sound Workers Co-op', handle: '@riverwest-sound' };
export const CREDIT_UNION: DemoOrganisation = { kind: 'CREDIT_UNION', name: 'Cream City Credit Union', handle: '@creamcity-cu' };
export const LAND_TRUST: DemoOrganisation = { kind: 'LAND_TRUST', name: 'Riverwest Community Land Trust', handle: '@riverwest-clt' };
export const ORGANISATIONS = [TIME_BANK, CO_OP, CREDIT_UNION, LAND_TRUST] as const;

export const HOURS = { code: 'HOUR', name: 'Time credits (one hour of anyone’s work)', kind: 'TIME', scale: 2 } as const;
export const DOLLARS = { code: 'MKE', name: 'Cream City dollar', kind: 'MONEY', scale: 2 } as const;

/** How far the time bank's pool may go below zero: it grants every welcome hour. */
export const POOL_CREDIT_LIMIT = '1000.00';
export const WELCOME_HOURS = '5.00';
/**
 * A balance bound (SPEC B.4): the time bank caps how many hours this member may hold, so hours
 * keep circulating. The summary shows a payment over it refused with BALANCE_LIMIT_EXCEEDED.
 */
export const BALANCE_CAP = { member: 'Ana Lima', maxBalance: '40.00' } as const;

export interface DemoMember {
  readonly name: string;
  readonly handle: string;
  /** Uses the phone app: records and confirms their own exchanges with a MEMBER key. */
  readonly app?: true;
  /** Works at the co-op; weight of their share of the surplus (hours worked). */
  readonly coOpHours?: number;
  /** Lives in a land trust home and pays its ground lease in local dollars. */
  readonly resident?: true;
  /** Holds local dollars: weekly deposit at the credit union. */
  readonly deposit?: string;
}

export const MEMBERS: readonly DemoMember[] = [
  { name: 'Ana Lima', handle: '@ana', app: true, resident: true, deposit: '60.00' },
  { name: 'Ben Carter', handle: '@ben', app: true, deposit: '45.00' },
  { name: 'Chloé Martin', handle: '@chloe', app: true },
  { name: 'Dmitri Volkov', handle: '@dmitri', app: true, coOpHours: 40, deposit: '80.00' },
  { name: 'Esperanza Ruiz', handle: '@esperanza', app: true },
  { name: 'Farah Haddad', handle: '@farah', app: true, resident: true, deposit: '55.00' },
  { name: 'George Mensah', handle: '@george' },
  { name: 'Hana Suzuki', handle: '@hana', coOpHours: 32, deposit: '70.00' },
  { name: 'Ibrahim Diallo', handle: '@ibrahim' },
  { name: 'Joanna Kowalska', handle: '@joanna', deposit: '25.00' },
  { name: 'Kwame Asante', handle: '@kwame' },
  { name: 'Leila Farouk', handle: '@leila' },
  { name: 'Lena Okafor', handle: '@lena', coOpHours: 28, deposit: '30.00' },
  { name: 'Marcus Webb', handle: '@marcus', deposit: '120.00' },
  { name: 'Nora Lindqvist', handle: '@nora' },
  { name: 'Omar Shaikh', handle: '@omar', app: true, resident: true, deposit: '40.00' },
  { name: 'Priya Natarajan', handle: '@priya' },
  { name: 'Quentin Dubois', handle: '@quentin', coOpHours: 20, deposit: '35.00' },
  { name: 'Rosa Delgado', handle: '@rosa' },
  { name: 'Samuel Cohen', handle: '@samuel' },
  { name: 'Tamar Levi', handle: '@tamar', deposit: '50.00' },
  { name: 'Uche Nwosu', handle: '@uche' },
  { name: 'Valentina Rossi', handle: '@valentina' },
  { name: 'Wen Li', handle: '@wen' },
  { name: 'Ximena Torres', handle: '@ximena' },
  { name: 'Yusuf Demir', handle: '@yusuf' },
  { name: 'Zoe Adams', handle: '@zoe' },
  { name: 'Aiyana Redcloud', handle: '@aiyana' },
  { name: 'Bruno Costa', handle: '@bruno' },
  { name: 'Carmen Vega', handle: '@carmen' },
  { name: 'Declan Murphy', handle: '@declan' },
  { name: 'Elif Yilmaz', handle: '@elif' },
];

/** The artist and the investor of the royalty split. */
export const ARTIST = 'Lena Okafor';
export const INVESTOR = 'Marcus Webb';

export interface DemoListing {
  readonly member: string;
  readonly title: string;
  readonly category: string;
  readonly description: string;
  readonly hours: string;
}

export const OFFERS: readonly DemoListing[] = [
  { member: 'Ben Carter', title: 'Bike repair', category: 'Repairs', description: 'Punctures, brakes, gears, wheel truing', hours: '1.50' },
  {
    member: 'Chloé Martin',
    title: 'French conversation',
    category: 'Languages',
    description: 'Relaxed practice over coffee',
    hours: '1.00',
  },
  {
    member: 'Esperanza Ruiz',
    title: 'Vegetable garden help',
    category: 'Gardening',
    description: 'Digging, planting, weeding',
    hours: '2.00',
  },
  { member: 'George Mensah', title: 'Carpentry and shelves', category: 'Repairs', description: 'Small furniture fixes', hours: '2.00' },
  { member: 'Hana Suzuki', title: 'Piano lessons for beginners', category: 'Music', description: 'Children and adults', hours: '1.00' },
  {
    member: 'Ibrahim Diallo',
    title: 'Rides to appointments',
    category: 'Transport',
    description: 'Clinic, pharmacy, groceries',
    hours: '1.50',
  },
  { member: 'Joanna Kowalska', title: 'Homework help: maths', category: 'Tutoring', description: 'Middle and high school', hours: '1.00' },
  {
    member: 'Kwame Asante',
    title: 'Computer and phone help',
    category: 'Tech help',
    description: 'Set-up, backups, video calls',
    hours: '1.00',
  },
  { member: 'Leila Farouk', title: 'Batch cooking', category: 'Cooking', description: 'A week of meals, cooked together', hours: '3.00' },
  { member: 'Nora Lindqvist', title: 'Sewing and mending', category: 'Sewing', description: 'Hems, zips, patches', hours: '1.00' },
  {
    member: 'Priya Natarajan',
    title: 'Company for older neighbours',
    category: 'Elder care',
    description: 'Visits, walks, reading',
    hours: '2.00',
  },
  { member: 'Rosa Delgado', title: 'Childminding', category: 'Childcare', description: 'After school, evenings', hours: '2.50' },
  {
    member: 'Samuel Cohen',
    title: 'Tax forms and letters',
    category: 'Paperwork',
    description: 'Filling in forms, writing letters',
    hours: '1.50',
  },
  { member: 'Wen Li', title: 'Mandarin lessons', category: 'Languages', description: 'Beginners welcome', hours: '1.00' },
  { member: 'Dmitri Volkov', title: 'Recording a demo song', category: 'Music', description: 'At the co-op studio', hours: '3.00' },
  { member: 'Ana Lima', title: 'Portuguese cooking class', category: 'Cooking', description: 'Feijoada for six', hours: '2.50' },
];

export const REQUESTS: readonly DemoListing[] = [
  {
    member: 'Ana Lima',
    title: 'Fix my bike before winter',
    category: 'Repairs',
    description: 'Gears slip, back brake squeaks',
    hours: '1.50',
  },
  {
    member: 'Uche Nwosu',
    title: 'Lift to the clinic on Tuesdays',
    category: 'Transport',
    description: 'Morning appointments',
    hours: '1.50',
  },
  {
    member: 'Valentina Rossi',
    title: 'Help with a job application',
    category: 'Paperwork',
    description: 'CV and cover letter',
    hours: '1.50',
  },
  { member: 'Ximena Torres', title: 'Maths tutoring for my son', category: 'Tutoring', description: 'Year 9 algebra', hours: '1.00' },
  { member: 'Yusuf Demir', title: 'Shelves for the kitchen', category: 'Repairs', description: 'Three wall shelves', hours: '2.00' },
  { member: 'Zoe Adams', title: 'Someone to walk with my grandmother', category: 'Elder care', description: 'Twice a week', hours: '2.00' },
  { member: 'Bruno Costa', title: 'Set up my new phone', category: 'Tech help', description: 'Move contacts and photos', hours: '1.00' },
  { member: 'Carmen Vega', title: 'Hem four pairs of trousers', category: 'Sewing', description: 'Before the wedding', hours: '1.00' },
  { member: 'Declan Murphy', title: 'Beginner guitar lessons', category: 'Music', description: 'I have a guitar', hours: '1.00' },
  { member: 'Elif Yilmaz', title: 'Garden clearing', category: 'Gardening', description: 'Overgrown back yard', hours: '3.00' },
];

/** How an exchange was recorded, and what became of it. */
export type ExchangePath =
  /** The time bank coordinator enters a paper slip: the hours move at once. */
  | 'slip'
  /** The receiver records it in the app: the hours move at once. */
  | 'receiver'
  /** The provider records it in the app, the receiver confirms. */
  | 'confirmed'
  /** The provider records it; the receiver has not answered yet. */
  | 'pending'
  /** The provider records it; the receiver disputes it. */
  | 'disputed';

export interface DemoExchange {
  readonly key: string;
  /** Day of the six weeks, 0 to 41: the service date is told in the description. */
  readonly day: number;
  readonly provider: string;
  readonly receiver: string;
  readonly hours: string;
  readonly what: string;
  readonly path: ExchangePath;
  /** The provider's offer or the receiver's request this fulfils (by title). */
  readonly offer?: string;
  readonly request?: string;
  readonly disputeReason?: string;
}

/** Exchanges with a story: app use, confirmations, requests fulfilled, a dispute, pending claims. */
const STORIES: readonly DemoExchange[] = [
  {
    key: 'bike-ana',
    day: 3,
    provider: 'Ben Carter',
    receiver: 'Ana Lima',
    hours: '1.50',
    what: 'Bike repair: gears and back brake',
    path: 'receiver',
    offer: 'Bike repair',
    request: 'Fix my bike before winter',
  },
  {
    key: 'french-dmitri',
    day: 5,
    provider: 'Chloé Martin',
    receiver: 'Dmitri Volkov',
    hours: '1.00',
    what: 'French conversation',
    path: 'confirmed',
    offer: 'French conversation',
  },
  {
    key: 'garden-elif',
    day: 9,
    provider: 'Esperanza Ruiz',
    receiver: 'Elif Yilmaz',
    hours: '3.00',
    what: 'Cleared the back yard',
    path: 'confirmed',
    offer: 'Vegetable garden help',
    request: 'Garden clearing',
  },
  {
    key: 'clinic-uche',
    day: 12,
    provider: 'Ibrahim Diallo',
    receiver: 'Uche Nwosu',
    hours: '1.50',
    what: 'Lift to the clinic',
    path: 'slip',
    offer: 'Rides to appointments',
    request: 'Lift to the clinic on Tuesdays',
  },
  {
    key: 'demo-song-farah',
    day: 16,
    provider: 'Dmitri Volkov',
    receiver: 'Farah Haddad',
    hours: '3.00',
    what: 'Recorded a demo song at the studio',
    path: 'confirmed',
    offer: 'Recording a demo song',
  },
  {
    key: 'maths-ximena',
    day: 19,
    provider: 'Joanna Kowalska',
    receiver: 'Ximena Torres',
    hours: '1.00',
    what: 'Algebra tutoring',
    path: 'slip',
    offer: 'Homework help: maths',
    request: 'Maths tutoring for my son',
  },
  {
    key: 'cooking-chloe',
    day: 22,
    provider: 'Ana Lima',
    receiver: 'Chloé Martin',
    hours: '2.50',
    what: 'Portuguese cooking class',
    path: 'confirmed',
    offer: 'Portuguese cooking class',
  },
  {
    key: 'phone-bruno',
    day: 24,
    provider: 'Kwame Asante',
    receiver: 'Bruno Costa',
    hours: '1.00',
    what: 'Set up a new phone',
    path: 'slip',
    offer: 'Computer and phone help',
    request: 'Set up my new phone',
  },
  {
    key: 'bike-farah-dispute',
    day: 30,
    provider: 'Ben Carter',
    receiver: 'Farah Haddad',
    hours: '2.00',
    what: 'Bike repair',
    path: 'disputed',
    disputeReason: 'I was away that week: this must be someone else',
  },
  {
    key: 'french-esperanza',
    day: 38,
    provider: 'Chloé Martin',
    receiver: 'Esperanza Ruiz',
    hours: '1.00',
    what: 'French conversation',
    path: 'pending',
  },
  {
    key: 'garden-ana',
    day: 39,
    provider: 'Esperanza Ruiz',
    receiver: 'Ana Lima',
    hours: '2.00',
    what: 'Planted the winter vegetables',
    path: 'pending',
  },
  {
    key: 'bike-dmitri',
    day: 40,
    provider: 'Ben Carter',
    receiver: 'Dmitri Volkov',
    hours: '1.00',
    what: 'Fixed a puncture',
    path: 'pending',
  },
  {
    key: 'cooking-ben',
    day: 41,
    provider: 'Ana Lima',
    receiver: 'Ben Carter',
    hours: '2.50',
    what: 'Portuguese cooking class',
    path: 'pending',
  },
];

/** The slip the coordinator entered twice by mistake, and reverses. */
export const DUPLICATE_SLIP: DemoExchange = {
  key: 'sewing-carmen-duplicate',
  day: 26,
  provider: 'Nora Lindqvist',
  receiver: 'Carmen Vega',
  hours: '1.00',
  what: 'Hemmed four pairs of trousers',
  path: 'slip',
};

/** A small deterministic generator (mulberry32), so the "everyday" exchanges are the same every run. */
function generator(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Everyday slips: members' offers used by other members, about one a day, entered by the coordinator. */
function everydaySlips(count: number): DemoExchange[] {
  const random = generator(2026);
  const slips: DemoExchange[] = [];
  for (let index = 0; index < count; index++) {
    const offer = OFFERS[Math.floor(random() * OFFERS.length)]!;
    let receiver = MEMBERS[Math.floor(random() * MEMBERS.length)]!.name;
    if (receiver === offer.member) receiver = MEMBERS[(MEMBERS.findIndex((m) => m.name === receiver) + 7) % MEMBERS.length]!.name;
    const day = Math.min(37, Math.floor((index * 38) / count) + Math.floor(random() * 2));
    slips.push({ key: `slip-${index + 1}`, day, provider: offer.member, receiver, hours: offer.hours, what: offer.title, path: 'slip' });
  }
  return slips;
}

/** Every exchange of the six weeks, in the order they happened. */
export const EXCHANGES: readonly DemoExchange[] = [...STORIES, DUPLICATE_SLIP, ...everydaySlips(30)].sort(
  (a, b) => a.day - b.day || a.key.localeCompare(b.key),
);

/** Community work the land trust pays hours for (recorded by its treasurer, the receiver). */
export const LAND_TRUST_WORKDAYS: readonly { key: string; day: number; member: string; hours: string; what: string }[] = [
  { key: 'workday-1-rosa', day: 13, member: 'Rosa Delgado', hours: '3.00', what: 'Community garden workday' },
  { key: 'workday-1-wen', day: 13, member: 'Wen Li', hours: '3.00', what: 'Community garden workday' },
  { key: 'workday-2-george', day: 34, member: 'George Mensah', hours: '4.00', what: 'Repaired the shed roof of the shared garden' },
];

/** The royalty split: a streaming payout reaches the co-op, which shares it out. */
export const ROYALTIES = { day: 27, amount: '1000.00', artistWeight: 50, investorWeight: 30, landTrustWeight: 17 } as const;

/** The co-op's surplus, shared among its workers by hours worked. */
export const CO_OP_SURPLUS = { day: 41, amount: '480.00' } as const;

/** Monthly ground lease each land trust resident pays, in local dollars. */
export const GROUND_LEASE = { days: [7, 35], amount: '25.00' } as const;

/** One member takes some local dollars back out. */
export const WITHDRAWAL = { day: 33, member: 'Marcus Webb', amount: '40.00' } as const;
