/**
 * Word lists for the bench dataset. Text is drawn from these with a skewed (Zipf-like) choice so
 * it compresses the way real prose does: a few very common function words, a few hundred common
 * content words and a long tail of rarer words built from syllables (about 10,000 of them).
 */

function words(list: string): string[] {
  return list.trim().split(/\s+/);
}

/** The commonest English words; about half of all words drawn. Most common first. */
export const FUNCTION_WORDS = words(`
  the of and to a in is that for it as was with be by on not this are or from at which but have an
  had they you were their one all we can has there been if more when will would who so no our its
  into than them only other new some could these may then do any most about over after also before
  should each very still just where while because both
`);

/** Common content words of a business that sells things; about a third of all words drawn. */
export const COMMON_WORDS = words(`
  customer order shipment invoice warehouse payment delivery product account support refund team
  quarter review update price discount service request package address report week month year day
  time store item stock supplier contract budget plan project meeting manager issue ticket release
  feature change system data process quality return exchange policy schedule region market sales
  growth revenue margin cost shipping carrier tracking label box pallet container route driver
  vehicle office branch partner vendor client member user login password email message phone call
  note comment feedback rating survey result number amount total balance credit debit tax fee
  charge receipt record file document page section table list detail summary status state level
  step stage phase goal target estimate forecast trend season holiday weekend morning evening
  night first last next previous early late quick slow good great small large long short high low
  full empty open closed ready pending delayed missing damaged correct wrong clear simple complete
  partial final daily weekly monthly annual local national global standard premium basic custom
  special regular main extra ship send receive deliver check confirm cancel approve reject pay buy
  sell offer provide include require expect follow handle manage track count measure improve
  reduce increase move store pack load arrive leave wait start finish continue keep need want make
  take give find show tell ask work help call write read agree decide expected received shipped
  returned reported updated reviewed scheduled customers orders items products payments teams
  changes requests issues again already soon today tomorrow yesterday usually often never always
  probably really well here now once twice many few several every same different important
  possible available current recent
`);

/** The long tail: prefix + stem + suffix, about 10,000 rarer words. */
export const TAIL_PREFIXES = [
  "",
  "",
  "",
  "re",
  "un",
  "pre",
  "con",
  "pro",
  "de",
  "dis",
  "in",
  "ex",
  "com",
  "sub",
  "trans",
  "inter",
  "over",
  "under",
  "out",
  "counter",
  "multi",
  "co",
  "mis",
  "non",
];

export const TAIL_STEMS = words(`
  form port struct duct ject tract spect scrib vers vent mit press pos cept sign ten fer plic mark
  stat graph log phon cycl bound lock stand hold link flow cast set shift build craft field ground
  line light point stream track turn view way work word rang fresh charg
`);

export const TAIL_SUFFIXES = [
  "",
  "s",
  "ed",
  "ing",
  "er",
  "ers",
  "ion",
  "ions",
  "ment",
  "ments",
  "ness",
  "able",
  "al",
  "ity",
  "ive",
  "ous",
  "ize",
  "ly",
  "ful",
  "less",
  "ance",
  "ant",
  "ory",
  "ure",
  "ist",
  "ism",
  "age",
  "ward",
];

export const FIRST_NAMES = words(`
  James Mary Robert Patricia John Jennifer Michael Linda David Elizabeth William Barbara Richard
  Susan Joseph Jessica Thomas Sarah Charles Karen Christopher Lisa Daniel Nancy Matthew Betty
  Anthony Margaret Mark Sandra Donald Ashley Steven Kimberly Paul Emily Andrew Donna Joshua
  Michelle Kenneth Carol Kevin Amanda Brian Dorothy George Melissa Timothy Deborah Ronald
  Stephanie Edward Rebecca Jason Sharon Jeffrey Laura Ryan Cynthia Jacob Kathleen Gary Amy
  Nicholas Angela Eric Shirley Jonathan Anna Stephen Brenda Larry Pamela Justin Emma Scott Nicole
  Brandon Helen Benjamin Samantha Samuel Katherine Gregory Christine Alexander Debra Frank Rachel
  Patrick Carolyn Raymond Janet Jack Catherine Dennis Maria Jerry Heather Tyler Diane Aaron Ruth
  Jose Julie Adam Olivia Nathan Joyce Henry Virginia Zachary Victoria Douglas Kelly Peter Lauren
  Kyle Christina Noah Joan Ethan Evelyn Jeremy Judith Walter Megan Christian Andrea Keith Cheryl
  Roger Hannah Terry Jacqueline Austin Martha Sean Gloria Gerald Teresa Carl Ann Harold Sara Dylan
  Madison Arthur Frances Lawrence Kathryn Jordan Janice Jesse Jean Bryan Abigail Billy Alice Bruce
  Judy Gabriel Sophia Joe Grace Logan Denise Alan Amber Juan Doris Albert Marilyn Willie Danielle
  Elijah Beverly Wayne Isabella Randy Theresa Vincent Diana Mason Natalie Roy Brittany Ralph
  Charlotte Bobby Marie Russell Kayla Bradley Alexis Philip Lori Eugene Aiko Kenji Priya Arjun
  Chen Wei Fatima Omar Ingrid Lars Sofia Mateo
`);

export const LAST_NAMES = words(`
  Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez
  Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris
  Sanchez Clark Ramirez Lewis Robinson Walker Young Allen King Wright Scott Torres Nguyen Hill
  Flores Green Adams Nelson Baker Hall Rivera Campbell Mitchell Carter Roberts Gomez Phillips
  Evans Turner Diaz Parker Cruz Edwards Collins Reyes Stewart Morris Morales Murphy Cook Rogers
  Gutierrez Ortiz Morgan Cooper Peterson Bailey Reed Kelly Howard Ramos Kim Cox Ward Richardson
  Watson Brooks Chavez Wood James Bennett Gray Mendoza Ruiz Hughes Price Alvarez Castillo Sanders
  Patel Myers Long Ross Foster Jimenez Powell Jenkins Perry Russell Sullivan Bell Coleman Butler
  Henderson Barnes Gonzales Fisher Vasquez Simmons Romero Jordan Patterson Alexander Hamilton
  Graham Reynolds Griffin Wallace Moreno West Cole Hayes Bryant Herrera Gibson Ellis Tran Medina
  Aguilar Stevens Murray Ford Castro Marshall Owens Harrison Fernandez McDonald Woods Washington
  Kennedy Wells Vargas Henry Chen Freeman Webb Tucker Guzman Burns Crawford Olson Simpson Porter
  Hunter Gordon Mendez Silva Shaw Snyder Mason Dixon Munoz Hunt Hicks Holmes Palmer Wagner Black
  Robertson Boyd Rose Stone Salazar Fox Warren Mills Meyer Rice Schmidt Garza Daniels Ferguson
  Nichols Stephens Soto Weaver Ryan Gardner Payne Grant Dunn Kowalski Tanaka Sato Nakamura Singh
  Kumar Okafor Larsen Novak Rossi Muller
`);

export const STREET_NAMES = words(`
  Main Oak Pine Maple Cedar Elm Washington Lake Hill Park Walnut Sunset Lincoln Jackson Church
  River Highland Meadow Forest Spring Ridge Willow Chestnut Franklin Jefferson Madison Adams
  Center Mill Market Union Prospect Broad Water Front Bridge Grove Valley Orchard Birch Spruce
  Harbor Railroad Summit Vine Dogwood Laurel Magnolia Hickory Sycamore
`);

export const STREET_SUFFIXES = ["St", "Ave", "Rd", "Blvd", "Ln", "Dr", "Ct", "Way", "Pl", "Ter"];

/** [city, region, country code] */
export const CITIES: ReadonlyArray<readonly [string, string, string]> = [
  ["Springfield", "IL", "US"],
  ["Portland", "OR", "US"],
  ["Austin", "TX", "US"],
  ["Denver", "CO", "US"],
  ["Madison", "WI", "US"],
  ["Raleigh", "NC", "US"],
  ["Columbus", "OH", "US"],
  ["Boise", "ID", "US"],
  ["Tucson", "AZ", "US"],
  ["Sacramento", "CA", "US"],
  ["Albany", "NY", "US"],
  ["Richmond", "VA", "US"],
  ["Nashville", "TN", "US"],
  ["Omaha", "NE", "US"],
  ["Pittsburgh", "PA", "US"],
  ["Toronto", "ON", "CA"],
  ["Vancouver", "BC", "CA"],
  ["Montreal", "QC", "CA"],
  ["Manchester", "England", "GB"],
  ["Leeds", "England", "GB"],
  ["Glasgow", "Scotland", "GB"],
  ["Dublin", "Leinster", "IE"],
  ["Berlin", "Berlin", "DE"],
  ["Hamburg", "Hamburg", "DE"],
  ["Munich", "Bavaria", "DE"],
  ["Lyon", "Auvergne-Rhone-Alpes", "FR"],
  ["Lille", "Hauts-de-France", "FR"],
  ["Amsterdam", "North Holland", "NL"],
  ["Utrecht", "Utrecht", "NL"],
  ["Stockholm", "Stockholm", "SE"],
  ["Oslo", "Oslo", "NO"],
  ["Copenhagen", "Capital", "DK"],
  ["Madrid", "Madrid", "ES"],
  ["Valencia", "Valencia", "ES"],
  ["Milan", "Lombardy", "IT"],
  ["Turin", "Piedmont", "IT"],
  ["Warsaw", "Masovia", "PL"],
  ["Prague", "Prague", "CZ"],
  ["Vienna", "Vienna", "AT"],
  ["Zurich", "Zurich", "CH"],
  ["Sydney", "NSW", "AU"],
  ["Melbourne", "VIC", "AU"],
  ["Auckland", "Auckland", "NZ"],
  ["Singapore", "Singapore", "SG"],
  ["Tokyo", "Tokyo", "JP"],
  ["Osaka", "Osaka", "JP"],
  ["Seoul", "Seoul", "KR"],
  ["Bangalore", "Karnataka", "IN"],
  ["Sao Paulo", "SP", "BR"],
  ["Mexico City", "CDMX", "MX"],
];

export const EMAIL_DOMAINS = words(`
  gmail.com gmail.com gmail.com yahoo.com outlook.com hotmail.com icloud.com proton.me
  fastmail.com example.com acme.io globex.com initech.net umbrella.org
`);

export const COMPANY_WORDS = words(`
  Acme Globex Initech Umbrella Stark Wayne Wonka Hooli Vandelay Soylent Cyberdyne Tyrell Massive
  Dynamic Blue Northern Pacific Summit Pioneer Evergreen Silver Golden Atlas Apex Vertex Nimbus
  Harbor Keystone
`);

export const COMPANY_SUFFIXES = ["Inc", "LLC", "Ltd", "GmbH", "Corp", "Group", "Labs", "Partners", "Co"];

export const PRODUCT_ADJECTIVES = words(`
  Ergonomic Rustic Sleek Durable Compact Wireless Portable Organic Classic Modern Heavy-Duty
  Lightweight Premium Smart Vintage Eco Deluxe Mini
`);

export const PRODUCT_MATERIALS = words(`
  Steel Wooden Cotton Leather Plastic Granite Bamboo Ceramic Aluminum Glass Wool Rubber Linen
  Copper Concrete Silk
`);

export const PRODUCT_NOUNS = words(`
  Chair Table Lamp Backpack Keyboard Mouse Bottle Mug Jacket Shoes Watch Headphones Speaker Desk
  Shelf Blanket Pillow Knife Pan Kettle Bike Helmet Tent Wallet Belt Hat Gloves Scarf Charger
  Cable
`);

export const CATEGORIES = words(`
  home kitchen outdoors electronics apparel office sports garden toys books beauty automotive
`);

export const EVENT_KINDS = words(`
  page_view page_view page_view page_view product_view product_view search add_to_cart
  remove_from_cart checkout_started checkout_completed login logout signup password_reset
  email_opened email_clicked support_ticket_opened
`);

export const USER_AGENTS = [
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
  "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15",
  "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
  "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
  "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36",
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0",
];

export const PAGE_PATHS = words(`
  / /products /products/search /cart /checkout /account /account/orders /help /help/shipping
  /help/returns /blog /pricing /about /contact
`);

export const REFERRERS = [
  "https://www.google.com/",
  "https://www.bing.com/",
  "https://duckduckgo.com/",
  "https://t.co/",
  "https://www.facebook.com/",
  "https://news.ycombinator.com/",
  "https://www.reddit.com/",
  "",
];

export const DOC_KINDS = ["note", "ticket", "review", "email", "contract", "invoice_memo", "report"];

export const TAGS = words(`
  urgent billing shipping returns vip feedback bug question renewal churn-risk upsell onboarding
  escalated resolved follow-up legal
`);
