//! Catalog content that is made rather than imported: the demo organisation's catalog, seeded
//! with the demo accounts, and catalogs of any size for the benchmark.
//!
//! [`demo_catalog`] describes ACME Retail, a fictional online shop: five domains, thirteen
//! systems, the teams of the demo accounts (`payments`, `checkout`, `platform`) and their
//! neighbours, people, services with their APIs (small but real OpenAPI, AsyncAPI and GraphQL
//! definitions) and the databases, topics and buckets they use. It reads like a real company's
//! catalog so that the portal's pages, search and relation graph can be judged on it.
//!
//! [`generated_catalog`] writes N entities of the same shape from a seed, quickly enough for
//! 250,000 of them, so that the benchmark measures a catalog with realistic relations rather
//! than N unrelated names.
//!
//! Both return Backstage YAML (documents separated by `---`), the same text a person would
//! paste or register, so they go through the same import path as everyone else's files. Both
//! are deterministic: the same call returns the same text, which keeps seeded databases and
//! benchmark runs comparable. Every reference they write points at an entity they also write.

use serde_json::{Map, Value, json};
use std::fmt::Write as _;

/// `write!` into a `String`, which cannot fail.
macro_rules! emit {
    ($out:expr, $($arg:tt)*) => {{
        let _ = write!($out, $($arg)*);
    }};
}

// ---- The demo organisation ----

const V1: &str = "backstage.io/v1alpha1";
const SCAFFOLDER: &str = "scaffolder.backstage.io/v1beta3";
const ENVIRONMENT: &str = "platform.dev/v1alpha1";

const PRODUCTION: &str = "production";
const EXPERIMENTAL: &str = "experimental";
const DEPRECATED: &str = "deprecated";

/// (name, type, parent, display name, description). Children are derived from the parents.
/// The three teams of the demo accounts keep the names and descriptions `seed.rs` gives them.
#[rustfmt::skip]
const GROUPS: &[(&str, &str, Option<&str>, &str, &str)] = &[
    ("acme-retail", "organization", None, "ACME Retail", "An online retailer of home and garden goods, selling in six European countries."),
    ("engineering", "department", Some("acme-retail"), "Engineering", "Everyone who builds and runs the shop's software, about ninety people."),
    ("commerce-unit", "business-unit", Some("engineering"), "Commerce", "The teams between a shopper's first search and a paid order."),
    ("operations-unit", "business-unit", Some("engineering"), "Operations", "The teams that get a paid order to the customer's door and look after customers afterwards."),
    ("platform-unit", "business-unit", Some("engineering"), "Platform & Data", "The teams that give every other team infrastructure, sign-in, data and tooling."),
    ("payments", "team", Some("commerce-unit"), "Payments", "Card payments, refunds and payouts."),
    ("checkout", "team", Some("commerce-unit"), "Checkout", "Basket, checkout flow and order confirmation."),
    ("storefront", "team", Some("commerce-unit"), "Storefront", "The web shop, the apps and the content shoppers browse."),
    ("search", "team", Some("commerce-unit"), "Search", "Product search, autocomplete and the product catalog."),
    ("logistics", "team", Some("operations-unit"), "Logistics", "Warehouses, stock, carriers and returns."),
    ("customer-care", "team", Some("operations-unit"), "Customer Care", "The support desk and the tools it works with."),
    ("platform", "team", Some("platform-unit"), "Platform", "The platform team: templates, policies and this portal."),
    ("identity", "team", Some("platform-unit"), "Identity", "Customer and staff accounts, sign-in and consent."),
    ("data", "team", Some("platform-unit"), "Data", "The event pipeline, the data warehouse and reporting."),
    ("sre", "team", Some("platform-unit"), "Site Reliability", "Databases, Kafka, observability and the incident process."),
];

/// (username, display name, groups). The first five are the demo accounts, with the
/// memberships `seed.rs` grants them in the portal.
#[rustfmt::skip]
const PEOPLE: &[(&str, &str, &[&str])] = &[
    ("viewer", "Vera Viewer", &["payments", "checkout"]),
    ("junior", "Jun Junior", &["payments"]),
    ("senior", "Sam Senior", &["payments", "checkout"]),
    ("lead", "Lee Lead", &["payments"]),
    ("admin", "Ada Admin", &["platform"]),
    ("claire.dubois", "Claire Dubois", &["engineering"]),
    ("samuel.adeyemi", "Samuel Adeyemi", &["commerce-unit"]),
    ("priya.raman", "Priya Raman", &["payments"]),
    ("tomas.novak", "Tomáš Novák", &["payments"]),
    ("lucia.fernandez", "Lucía Fernández", &["checkout"]),
    ("kwame.mensah", "Kwame Mensah", &["checkout"]),
    ("hannah.schulz", "Hannah Schulz", &["checkout", "storefront"]),
    ("yuki.tanaka", "Yuki Tanaka", &["storefront"]),
    ("oliver.brown", "Oliver Brown", &["storefront"]),
    ("sofia.rossi", "Sofia Rossi", &["storefront"]),
    ("arjun.mehta", "Arjun Mehta", &["search"]),
    ("elena.petrova", "Elena Petrova", &["search"]),
    ("jonas.berg", "Jonas Berg", &["logistics"]),
    ("fatima.haddad", "Fatima Haddad", &["logistics"]),
    ("marek.kowalski", "Marek Kowalski", &["logistics", "operations-unit"]),
    ("grace.obi", "Grace Obi", &["customer-care"]),
    ("noah.fischer", "Noah Fischer", &["platform"]),
    ("ines.moreau", "Inès Moreau", &["platform"]),
    ("liam.walsh", "Liam Walsh", &["platform", "sre"]),
    ("mei.chen", "Mei Chen", &["identity"]),
    ("david.cohen", "David Cohen", &["identity", "platform-unit"]),
    ("ana.silva", "Ana Silva", &["data"]),
    ("ravi.kumar", "Ravi Kumar", &["data"]),
    ("zoe.martin", "Zoé Martin", &["data"]),
    ("erik.lund", "Erik Lund", &["sre"]),
    ("nadia.ali", "Nadia Ali", &["sre"]),
];

/// (name, owner, title, description).
#[rustfmt::skip]
const DOMAINS: &[(&str, &str, &str, &str)] = &[
    ("commerce", "checkout", "Commerce", "Everything a shopper sees and does: finding products, the basket and checkout."),
    ("finance", "payments", "Finance", "Money in and out: payments, refunds, payouts, invoices and the ledger."),
    ("logistics", "logistics", "Logistics", "From a paid order to a parcel at the door, and back again for returns."),
    ("identity", "identity", "Identity", "Who someone is and what they agreed to: accounts, sign-in and consent."),
    ("platform", "platform", "Platform", "What every team builds on: delivery, observability, data and this portal."),
];

/// The APIs a service offers.
#[derive(Clone, Copy, PartialEq)]
enum Api {
    /// An OpenAPI REST API, `<name>-api`.
    Rest,
    /// A REST API and an AsyncAPI event stream, `<name>-events`, published by a relay.
    RestAndEvents,
    /// A GraphQL API, `<name>-graphql`.
    Graphql,
    /// None: a worker.
    Worker,
}

/// Where a service keeps its state.
#[derive(Clone, Copy, PartialEq)]
enum Store {
    Postgres,
    Mysql,
    Redis,
    Search,
    Stateless,
}

struct Service {
    name: &'static str,
    /// The REST collection, plural, as in `/tax-quotes`.
    path: &'static str,
    /// The schema of one item, as in `TaxQuote`.
    schema: &'static str,
    lifecycle: &'static str,
    api: Api,
    store: Store,
    description: &'static str,
}

const fn svc(
    name: &'static str,
    path: &'static str,
    schema: &'static str,
    lifecycle: &'static str,
    api: Api,
    store: Store,
    description: &'static str,
) -> Service {
    Service { name, path, schema, lifecycle, api, store, description }
}

struct System {
    name: &'static str,
    title: &'static str,
    domain: &'static str,
    owner: &'static str,
    language: &'static str,
    framework: &'static str,
    description: &'static str,
    services: &'static [Service],
    /// (service, APIs it consumes).
    calls: &'static [(&'static str, &'static [&'static str])],
}

use Api::*;
use Store::*;

#[rustfmt::skip]
const SYSTEMS: &[System] = &[
    System {
        name: "storefront",
        title: "Storefront",
        domain: "commerce",
        owner: "storefront",
        language: "typescript",
        framework: "node",
        description: "The web shop and the apps: pages, content, recommendations and reviews.",
        services: &[
            svc("storefront-bff", "pages", "Page", PRODUCTION, Graphql, Redis,
                "The backend for the web shop and the apps: one GraphQL query per page, assembled from the catalog, prices, stock and the basket."),
            svc("content", "articles", "Article", PRODUCTION, Rest, Postgres,
                "Editorial content: buying guides, landing pages and campaign banners, edited by the marketing team."),
            svc("recommendations", "recommendations", "Recommendation", EXPERIMENTAL, Rest, Redis,
                "Product recommendations (customers who bought this also bought), trained nightly on order history."),
            svc("reviews", "reviews", "Review", PRODUCTION, Rest, Postgres,
                "Customer reviews and star ratings, moderated before they are published."),
            svc("wishlist", "wishlists", "Wishlist", PRODUCTION, Rest, Postgres,
                "Products a customer saved for later, shareable by link."),
        ],
        calls: &[
            ("storefront-bff", &["product-catalog-api", "search-query-api", "cart-api", "pricing-api", "stock-api", "content-api", "reviews-api", "customer-accounts-api"]),
            ("recommendations", &["feature-store-api", "product-catalog-api"]),
            ("wishlist", &["product-catalog-api", "customer-accounts-api"]),
        ],
    },
    System {
        name: "checkout",
        title: "Checkout",
        domain: "commerce",
        owner: "checkout",
        language: "kotlin",
        framework: "spring-boot",
        description: "From a filled basket to a placed order: basket, prices, promotions, checkout and the order of record.",
        services: &[
            svc("cart", "carts", "Cart", PRODUCTION, Rest, Redis,
                "The shopper's basket: items, quantities and applied vouchers, kept for thirty days."),
            svc("checkout", "checkouts", "Checkout", PRODUCTION, RestAndEvents, Postgres,
                "The checkout flow from basket to placed order: address, delivery option, payment and confirmation."),
            svc("orders", "orders", "Order", PRODUCTION, RestAndEvents, Postgres,
                "The order of record: every placed order, its lines, its state and its history."),
            svc("pricing", "prices", "Price", PRODUCTION, Rest, Postgres,
                "Prices per product and country, with campaign prices and the price history the law asks for."),
            svc("promotions", "promotions", "Promotion", PRODUCTION, Rest, Postgres,
                "Vouchers, bundles and campaign rules, evaluated against a basket."),
            svc("legacy-checkout", "sessions", "CheckoutSession", DEPRECATED, Rest, Mysql,
                "The old monolithic checkout, kept for the B2B shop until it moves to the new flow. Do not build on it."),
        ],
        calls: &[
            ("cart", &["pricing-api", "promotions-api", "stock-api"]),
            ("checkout", &["cart-api", "payment-api", "shipping-rates-api", "tax-api", "fraud-check-api", "customer-accounts-api", "orders-api"]),
            ("orders", &["payment-events", "tracking-events"]),
            ("legacy-checkout", &["payment-api", "pricing-api"]),
        ],
    },
    System {
        name: "search",
        title: "Search & Catalog",
        domain: "commerce",
        owner: "search",
        language: "java",
        framework: "spring-boot",
        description: "The product catalog and everything that finds things in it: search, autocomplete and the product graph.",
        services: &[
            svc("product-catalog", "products", "Product", PRODUCTION, RestAndEvents, Postgres,
                "The product master: titles, descriptions, attributes and images of every product we sell."),
            svc("search-query", "searches", "SearchResult", PRODUCTION, Rest, Search,
                "Answers product searches with ranking, facets and spelling correction."),
            svc("indexer", "", "", PRODUCTION, Worker, Stateless,
                "Keeps the search index in step with the product catalog, prices and stock, within a minute of a change."),
            svc("autocomplete", "suggestions", "Suggestion", PRODUCTION, Rest, Redis,
                "Suggestions as you type, from popular searches and product names."),
            svc("catalog-graph", "products", "Product", EXPERIMENTAL, Graphql, Stateless,
                "An experimental GraphQL view of the product catalog for partner integrations."),
        ],
        calls: &[
            ("indexer", &["product-catalog-events", "pricing-api", "stock-events"]),
            ("catalog-graph", &["product-catalog-api", "pricing-api"]),
            ("autocomplete", &["search-query-api"]),
        ],
    },
    System {
        name: "payments",
        title: "Payments",
        domain: "finance",
        owner: "payments",
        language: "java",
        framework: "spring-boot",
        description: "Money in: card and wallet payments, stored cards, fraud checks, refunds and payouts to marketplace sellers.",
        services: &[
            svc("payment", "payments", "Payment", PRODUCTION, RestAndEvents, Postgres,
                "Takes payments by card, wallet and invoice through our payment service providers: the one place that moves money in."),
            svc("card-vault", "cards", "Card", PRODUCTION, Rest, Postgres,
                "Keeps card tokens (never card numbers) and runs the few operations that are in PCI scope."),
            svc("refunds", "refunds", "Refund", PRODUCTION, RestAndEvents, Postgres,
                "Full and partial refunds, to the original payment method or as store credit."),
            svc("payouts", "payouts", "Payout", PRODUCTION, Rest, Postgres,
                "Pays marketplace sellers every week, with a remittance advice per payout."),
            svc("fraud-check", "assessments", "Assessment", EXPERIMENTAL, Rest, Redis,
                "Scores each payment for fraud risk before it is authorised; rules first, a model in shadow mode."),
            svc("psp-adapter", "transactions", "Transaction", PRODUCTION, Rest, Stateless,
                "Talks to the payment service providers (cards, wallets, bank transfer) behind one interface."),
            svc("payment-links", "links", "PaymentLink", EXPERIMENTAL, Rest, Postgres,
                "Payment links that customer care sends for orders taken by phone."),
            svc("cash-on-delivery", "collections", "Collection", DEPRECATED, Rest, Mysql,
                "Cash on delivery, being retired at the end of the year; no new countries."),
        ],
        calls: &[
            ("payment", &["card-vault-api", "psp-adapter-api", "fraud-check-api", "customer-accounts-api"]),
            ("refunds", &["payment-api", "psp-adapter-api", "orders-api"]),
            ("payouts", &["ledger-api", "psp-adapter-api"]),
            ("payment-links", &["payment-api", "orders-api"]),
            ("cash-on-delivery", &["orders-api", "tracking-api"]),
        ],
    },
    System {
        name: "billing",
        title: "Billing",
        domain: "finance",
        owner: "payments",
        language: "kotlin",
        framework: "ktor",
        description: "Invoices, tax and the ledger the finance team closes the books from.",
        services: &[
            svc("invoices", "invoices", "Invoice", PRODUCTION, RestAndEvents, Postgres,
                "Issues invoices and credit notes for every order and refund, in the customer's language."),
            svc("ledger", "entries", "LedgerEntry", PRODUCTION, Rest, Postgres,
                "A double-entry ledger of every money movement: the books the finance team closes each month from."),
            svc("tax", "tax-quotes", "TaxQuote", PRODUCTION, Rest, Stateless,
                "Works out VAT per order line from the country, the product category and the date."),
            svc("reconciliation", "reports", "ReconciliationReport", PRODUCTION, Rest, Postgres,
                "Matches provider settlements against the ledger every night and reports what does not match."),
            svc("legacy-invoicing", "documents", "Document", DEPRECATED, Rest, Mysql,
                "The old invoice generator; it still renders credit notes until invoices takes them over."),
        ],
        calls: &[
            ("invoices", &["orders-events", "tax-api", "customer-accounts-api"]),
            ("ledger", &["payment-events", "refunds-events", "payouts-api"]),
            ("reconciliation", &["ledger-api", "psp-adapter-api"]),
            ("legacy-invoicing", &["orders-api"]),
        ],
    },
    System {
        name: "fulfilment",
        title: "Fulfilment",
        domain: "logistics",
        owner: "logistics",
        language: "go",
        framework: "grpc",
        description: "Turns placed orders into packed parcels in our three warehouses, and takes returns back in.",
        services: &[
            svc("fulfilment", "fulfilment-orders", "FulfilmentOrder", PRODUCTION, RestAndEvents, Postgres,
                "Splits orders into fulfilment orders per warehouse and follows them until the carrier has the parcel."),
            svc("warehouse", "picks", "Pick", PRODUCTION, Rest, Postgres,
                "Pick lists, packing stations and scanner events in the warehouses."),
            svc("returns", "returns", "Return", PRODUCTION, RestAndEvents, Postgres,
                "Return requests, labels and the inspection of what comes back."),
        ],
        calls: &[
            ("fulfilment", &["orders-events", "stock-api", "carrier-gateway-api", "warehouse-api"]),
            ("returns", &["refunds-api", "carrier-gateway-api", "orders-api"]),
        ],
    },
    System {
        name: "shipping",
        title: "Shipping",
        domain: "logistics",
        owner: "logistics",
        language: "go",
        framework: "grpc",
        description: "Carriers: delivery options and prices, labels, and tracking until the parcel arrives.",
        services: &[
            svc("shipping-rates", "rates", "Rate", PRODUCTION, Rest, Redis,
                "Delivery options, prices and promised dates for a basket and an address."),
            svc("carrier-gateway", "consignments", "Consignment", PRODUCTION, Rest, Postgres,
                "One interface to our six carriers: consignments, labels and pick-up slots."),
            svc("tracking", "parcels", "Parcel", PRODUCTION, RestAndEvents, Postgres,
                "Collects carrier scans and tells the customer where their parcel is."),
        ],
        calls: &[
            ("shipping-rates", &["carrier-gateway-api"]),
            ("tracking", &["carrier-gateway-api", "fulfilment-events"]),
        ],
    },
    System {
        name: "inventory",
        title: "Inventory",
        domain: "logistics",
        owner: "logistics",
        language: "python",
        framework: "fastapi",
        description: "What we have, where it is and when more arrives.",
        services: &[
            svc("stock", "stock-levels", "StockLevel", PRODUCTION, RestAndEvents, Postgres,
                "Stock per product and warehouse, reserved at checkout and released when an order is cancelled."),
            svc("replenishment", "purchase-orders", "PurchaseOrder", EXPERIMENTAL, Rest, Postgres,
                "Suggests purchase orders from sales forecasts and supplier lead times."),
            svc("suppliers", "suppliers", "Supplier", PRODUCTION, Rest, Postgres,
                "Suppliers, their contracts, lead times and contacts."),
        ],
        calls: &[
            ("stock", &["orders-events", "returns-events", "warehouse-api"]),
            ("replenishment", &["stock-api", "suppliers-api", "feature-store-api"]),
        ],
    },
    System {
        name: "accounts",
        title: "Accounts",
        domain: "identity",
        owner: "identity",
        language: "rust",
        framework: "axum",
        description: "Customer and staff accounts, sign-in and the consent customers give us.",
        services: &[
            svc("customer-accounts", "accounts", "Account", PRODUCTION, RestAndEvents, Postgres,
                "Customer accounts: profile, addresses and preferences, and their deletion on request."),
            svc("auth", "sessions", "Session", PRODUCTION, Rest, Redis,
                "Sign-in for customers and staff: passwords, passkeys, social login and sessions."),
            svc("consent", "consents", "Consent", PRODUCTION, Rest, Postgres,
                "What each customer agreed to (newsletters, tracking, personalisation) and when."),
            svc("staff-directory", "employees", "Employee", PRODUCTION, Rest, Stateless,
                "Staff, teams and managers, synchronised every hour from the HR system."),
        ],
        calls: &[("customer-accounts", &["auth-api", "consent-api"]), ("auth", &["staff-directory-api"])],
    },
    System {
        name: "developer-portal",
        title: "Developer Portal",
        domain: "platform",
        owner: "platform",
        language: "rust",
        framework: "leptos",
        description: "This portal: the service catalog, documentation, search and self-service templates.",
        services: &[
            svc("portal", "entities", "Entity", PRODUCTION, Rest, Postgres,
                "The developer portal itself: the service catalog, docs, search and team pages."),
            svc("scaffolder", "tasks", "Task", EXPERIMENTAL, Rest, Postgres,
                "Runs software templates: creates the repository, the pipeline and the catalog entry of a new service."),
            svc("docs-builder", "builds", "DocsBuild", PRODUCTION, Rest, Stateless,
                "Builds each repository's Markdown documentation into the pages the portal shows."),
        ],
        calls: &[
            ("portal", &["staff-directory-api", "auth-api", "deployments-api", "docs-builder-api"]),
            ("scaffolder", &["portal-api", "build-runner-api"]),
        ],
    },
    System {
        name: "delivery",
        title: "Delivery",
        domain: "platform",
        owner: "platform",
        language: "go",
        framework: "grpc",
        description: "Build, store and ship: pipelines, artifacts and deployments to every environment.",
        services: &[
            svc("deployments", "deployments", "Deployment", PRODUCTION, RestAndEvents, Postgres,
                "Rolls releases out to development, staging and production, with canaries and automatic rollback."),
            svc("build-runner", "jobs", "Job", PRODUCTION, Rest, Postgres,
                "Runs every repository's pipeline on our own runners and keeps the logs for ninety days."),
            svc("artifact-store", "artifacts", "Artifact", PRODUCTION, Rest, Stateless,
                "Container images and packages, signed, scanned and kept as long as a deployment uses them."),
        ],
        calls: &[("deployments", &["artifact-store-api"]), ("build-runner", &["artifact-store-api"])],
    },
    System {
        name: "observability",
        title: "Observability",
        domain: "platform",
        owner: "sre",
        language: "go",
        framework: "grpc",
        description: "Metrics, logs, alerts and the public status page.",
        services: &[
            svc("alerting", "alerts", "Alert", PRODUCTION, Rest, Postgres,
                "Routes alerts to the team on call and links each one to its runbook."),
            svc("log-pipeline", "", "", PRODUCTION, Worker, Stateless,
                "Ships every service's logs to the log store, dropping secrets and card numbers on the way."),
            svc("status-page", "incidents", "Incident", PRODUCTION, Rest, Postgres,
                "The public status page and its incident updates."),
        ],
        calls: &[("alerting", &["deployments-events", "staff-directory-api"]), ("status-page", &["alerting-api"])],
    },
    System {
        name: "data-platform",
        title: "Data Platform",
        domain: "platform",
        owner: "data",
        language: "python",
        framework: "airflow",
        description: "Events in, answers out: collection, the warehouse, features for models and reporting.",
        services: &[
            svc("event-collector", "events", "TrackingEvent", PRODUCTION, Rest, Stateless,
                "Collects click-stream and app events, checks them against their schema and hands them to Kafka."),
            svc("warehouse-loader", "", "", PRODUCTION, Worker, Stateless,
                "Loads order, payment, account and stock events into the data warehouse every fifteen minutes."),
            svc("feature-store", "features", "Feature", EXPERIMENTAL, Rest, Redis,
                "Features for the recommendation, fraud and forecasting models, online and offline."),
            svc("reporting", "reports", "Report", PRODUCTION, Graphql, Postgres,
                "Daily sales, margin and delivery reports, and the GraphQL API the dashboards read."),
        ],
        calls: &[
            ("warehouse-loader", &["orders-events", "payment-events", "customer-accounts-events", "stock-events", "event-collector-api"]),
            ("feature-store", &["event-collector-api"]),
        ],
    },
];

/// (name, type, system, owner, language, framework, lifecycle, APIs it calls, description).
type Frontend = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static [&'static str],
    &'static str,
);

#[rustfmt::skip]
const FRONTENDS: &[Frontend] = &[
    ("web-shop", "website", "storefront", "storefront", "typescript", "next-js", PRODUCTION, &["storefront-bff-graphql", "event-collector-api"], "The web shop at acme.example, rendered on the server and hydrated in the browser."),
    ("mobile-app", "mobile-app", "storefront", "storefront", "typescript", "react-native", PRODUCTION, &["storefront-bff-graphql", "auth-api", "event-collector-api"], "The iOS and Android shopping app."),
    ("checkout-web", "website", "checkout", "checkout", "typescript", "react", PRODUCTION, &["checkout-api", "cart-api", "shipping-rates-api"], "The checkout pages, served under /checkout of the web shop."),
    ("b2b-shop", "website", "checkout", "checkout", "php", "symfony", DEPRECATED, &["legacy-checkout-api"], "The shop for business customers, on the old checkout. Being replaced by the web shop with business accounts."),
    ("payments-dashboard", "website", "payments", "payments", "typescript", "react", PRODUCTION, &["payment-api", "refunds-api", "payouts-api", "reconciliation-api"], "Where the payments team and finance look up payments, refunds and payouts."),
    ("support-console", "website", "accounts", "customer-care", "typescript", "react", PRODUCTION, &["customer-accounts-api", "orders-api", "refunds-api", "payment-links-api", "tracking-api"], "The support desk's view of a customer: account, orders, parcels, refunds and payment links."),
    ("warehouse-scanner", "mobile-app", "fulfilment", "logistics", "kotlin", "android", PRODUCTION, &["warehouse-api"], "The Android app on the warehouse hand scanners: picking, packing and stock counts."),
    ("status-site", "website", "observability", "sre", "typescript", "astro", EXPERIMENTAL, &["status-page-api"], "The public status site, status.acme.example."),
];

/// (name, owner, language, lifecycle, description).
#[rustfmt::skip]
const LIBRARIES: &[(&str, &str, &str, &str, &str)] = &[
    ("service-kit-java", "platform", "java", PRODUCTION, "Our Spring Boot starter: logging, metrics, tracing, health checks and graceful shutdown."),
    ("service-kit-kotlin", "platform", "kotlin", PRODUCTION, "Kotlin extensions to service-kit-java, and the Ktor flavour of the same defaults."),
    ("service-kit-go", "platform", "go", PRODUCTION, "The Go service skeleton's shared code: configuration, logging, metrics and gRPC interceptors."),
    ("service-kit-rust", "platform", "rust", EXPERIMENTAL, "Tower layers and tracing setup shared by our Rust services."),
    ("service-kit-python", "platform", "python", PRODUCTION, "Logging, metrics and settings for FastAPI services and Airflow jobs."),
    ("event-schemas", "platform", "avro", PRODUCTION, "The Avro schemas of every Kafka topic, with compatibility checks in the pipeline."),
    ("feature-flags", "platform", "typescript", PRODUCTION, "Feature flags for the browser and for services, with gradual roll-outs."),
    ("ui-kit", "storefront", "typescript", PRODUCTION, "The shop's design system: React components, tokens and icons."),
    ("money", "payments", "java", PRODUCTION, "Money amounts without floating point: currencies, rounding, allocation and formatting per locale."),
    ("tax-rules", "payments", "kotlin", PRODUCTION, "VAT rates and rules per country and product category, updated when the law changes."),
    ("address-validation", "logistics", "go", PRODUCTION, "Checks and normalises postal addresses for the six countries we ship to."),
];

/// Shared infrastructure: (name, type, owner, technology, description).
#[rustfmt::skip]
const CLUSTERS: &[(&str, &str, &str, &str, &str)] = &[
    ("postgres-main", "database-cluster", "sre", "postgresql", "The main PostgreSQL cluster: three nodes, point-in-time recovery for fourteen days."),
    ("postgres-pci", "database-cluster", "sre", "postgresql", "The PostgreSQL cluster inside the PCI zone, for payments data only."),
    ("mysql-legacy", "database-cluster", "sre", "mysql", "The MySQL server of the old shop. Nothing new goes here."),
    ("redis-main", "cache-cluster", "sre", "redis", "The shared Redis cluster for caches and short-lived state."),
    ("kafka", "kafka-cluster", "platform", "kafka", "The Kafka cluster every event goes through; topics are created by pull request."),
    ("elasticsearch", "search-cluster", "search", "elasticsearch", "The Elasticsearch cluster behind product search."),
];

/// (name, owner, system, components that use it, description).
#[rustfmt::skip]
const BUCKETS: &[(&str, &str, &str, &[&str], &str)] = &[
    ("product-images", "search", "search", &["product-catalog", "web-shop"], "Product photos in every size the shop shows."),
    ("invoice-archive", "payments", "billing", &["invoices", "legacy-invoicing"], "Every invoice and credit note as PDF, kept ten years as the law asks."),
    ("shipping-labels", "logistics", "shipping", &["carrier-gateway", "warehouse-scanner"], "Carrier labels, kept ninety days."),
    ("data-lake", "data", "data-platform", &["warehouse-loader", "event-collector"], "Raw events, partitioned by day, kept two years."),
    ("techdocs-sites", "platform", "developer-portal", &["docs-builder", "portal"], "The built documentation sites the portal serves."),
    ("build-artifacts", "platform", "delivery", &["artifact-store", "build-runner"], "Build outputs and container layers."),
    ("log-archive", "sre", "observability", &["log-pipeline"], "Compressed logs older than a week, kept a year."),
];

/// The demo organisation's catalog: about three hundred entities as Backstage YAML.
/// A demo document: (entity reference or None for a guide, path, title, Markdown).
pub type DemoDoc = (Option<String>, String, String, String);

/// The demo documentation: an overview and runbook for every service, and a few guides.
pub fn demo_docs() -> Vec<DemoDoc> {
    let mut docs: Vec<DemoDoc> = GUIDES.iter().map(|(path, title, text)| (None, path.to_string(), title.to_string(), text.to_string())).collect();
    for s in SYSTEMS {
        for service in s.services {
            let name = service.name;
            let title = title_case(name);
            let store = match service.store {
                Postgres => "PostgreSQL",
                Mysql => "MySQL",
                Redis => "Redis",
                Search => "OpenSearch",
                Stateless => "nothing (it is stateless)",
            };
            let data = store_resource(service).map(|r| format!(" (`resource:{r}`)")).unwrap_or_default();
            let item = with_article(service.schema);
            let markdown = format!(
                "# {title}\n\n{description}\n\nPart of the [{system}](/catalog/system/default/{system_name}) system, owned by the \
                 **{owner}** team.\n\n## Running locally\n\n```sh\ngit clone https://git.acme.example/acme-retail/{name}\ncd {name}\n\
                 make dev   # starts {store} in a container and the service on port 8080\n```\n\nBuilt with {framework} on {language}.\n\n\
                 ## API\n\nThe REST API serves `/{path}`: create, read and list {plural}. Each request needs a service token; \
                 see the API entity `{name}-api` in the catalog for the full definition.\n\n## Data\n\nStores {item} per record in \
                 {store}{data}. Backups run nightly and are kept for 35 days.\n\n## Runbook\n\n### Error rate above 1 %\n\n\
                 1. Check the dashboard linked on the catalog page.\n2. Look for a recent deployment and roll it back if the errors started with it.\n\
                 3. Page `{owner}-primary` if it lasts longer than 10 minutes.\n\n### Latency above the objective\n\n\
                 Scale out first (`replicas +2`), then look for slow queries in {store}.\n\n## Contacts\n\nOn call: `{owner}-primary`. \
                 Questions: the #{owner} channel.\n",
                description = service.description,
                system = s.title,
                system_name = s.name,
                owner = s.owner,
                framework = display_name(s.framework),
                language = display_name(s.language),
                path = service.path,
                plural = spaced_lower(service.schema) + "s",
            );
            docs.push((Some(format!("component:default/{name}")), "index".into(), format!("{title} overview"), markdown));
        }
    }
    docs
}

/// (path, title, Markdown) of the demo guides.
const GUIDES: &[(&str, &str, &str)] = &[
    ("getting-started", "Getting started as a developer", "# Getting started as a developer\n\nWelcome! This portal is where you find services, APIs and their owners, read their docs, and create what you need yourself.\n\n## Find something\n\nPress `/` anywhere and type part of a name: *pay* finds the payment service, its API and its docs. Small typos are forgiven.\n\n## Your team's things\n\nThe home page lists what your teams own. The catalog filters by owner, kind, lifecycle and tag; share a filtered view by copying its address.\n\n## Get access\n\nAsk your Team Lead to add you to the team on the Teams page.\n"),
    ("register-a-service", "Register a service in the catalog", "# Register a service in the catalog\n\nEvery service describes itself in a `catalog-info.yaml` at the root of its repository, in Backstage's format.\n\n## The descriptor\n\n```yaml\napiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: my-service\n  annotations:\n    backstage.io/techdocs-ref: dir:.\nspec:\n  type: service\n  lifecycle: production\n  owner: my-team\n  system: my-system\n```\n\n## Import it\n\nPaste it on the *Import YAML* page, or ask a Platform Admin to register the repository as a location so changes are picked up automatically.\n\n## Docs\n\nWith `backstage.io/techdocs-ref: dir:.`, the Markdown files in the repository's `docs/` folder become the service's docs here.\n"),
    ("on-call", "Being on call", "# Being on call\n\nEach team has a primary and a secondary on-call rotation (`<team>-primary`).\n\n## Before your shift\n\n- Check you can sign in to the portal and the dashboards.\n- Read the runbooks of your team's tier 1 services.\n\n## During an incident\n\n1. Acknowledge the page within 5 minutes.\n2. Open an incident channel and say what you see.\n3. Follow the service's runbook; roll back first, investigate later.\n\n## After\n\nWrite a short review within two working days.\n"),
    ("writing-docs", "Writing good docs", "# Writing good docs\n\nDocs live next to the code, in Markdown, and show up here and in search.\n\n## Structure\n\nStart with one paragraph that says what the service does and for whom. Then: running locally, the API, data, and a runbook with one section per alert.\n\n## Headings\n\nLevel 2 to 4 headings make the table of contents; link to a section with its anchor.\n"),
];

pub fn demo_catalog() -> String {
    let mut entities = Vec::new();
    groups_and_people(&mut entities);
    for (name, owner, title, description) in DOMAINS {
        entities.push(entity(
            V1,
            "Domain",
            json!({"name": name, "title": title, "description": description}),
            json!({"owner": owner}),
        ));
    }
    for (i, system) in SYSTEMS.iter().enumerate() {
        systems_services(&mut entities, i, system);
    }
    frontends_and_libraries(&mut entities);
    infrastructure(&mut entities);
    environments(&mut entities);
    templates(&mut entities);
    let mut out = String::with_capacity(entities.len() * 1500);
    for e in &entities {
        emit_document(&mut out, e);
    }
    out
}

fn entity(api_version: &str, kind: &str, metadata: Value, spec: Value) -> Value {
    json!({"apiVersion": api_version, "kind": kind, "metadata": metadata, "spec": spec})
}

fn groups_and_people(entities: &mut Vec<Value>) {
    for (name, kind, parent, display, description) in GROUPS {
        let children: Vec<&str> = GROUPS.iter().filter(|g| g.2 == Some(*name)).map(|g| g.0).collect();
        let mut spec = json!({
            "type": kind,
            "profile": {"displayName": display, "email": format!("{name}@example.com")},
            "children": children,
        });
        if let Some(parent) = parent {
            spec["parent"] = json!(parent);
        }
        entities.push(entity(V1, "Group", json!({"name": name, "title": display, "description": description}), spec));
    }
    for (username, display, groups) in PEOPLE {
        entities.push(entity(
            V1,
            "User",
            json!({"name": username, "title": display}),
            json!({"profile": {"displayName": display, "email": format!("{username}@example.com")}, "memberOf": groups}),
        ));
    }
}

/// "card-vault" → "Card Vault", "storefront-bff" → "Storefront BFF".
fn title_case(name: &str) -> String {
    name.split('-')
        .map(|w| match w {
            "api" | "bff" | "psp" | "pci" | "b2b" | "sre" => w.to_ascii_uppercase(),
            _ => {
                let mut c = w.chars();
                c.next().map(|f| f.to_uppercase().chain(c).collect::<String>()).unwrap_or_default()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// A language or framework tag as people write it.
fn display_name(tag: &str) -> String {
    let known = match tag {
        "typescript" => "TypeScript",
        "spring-boot" => "Spring Boot",
        "node" => "Node.js",
        "next-js" => "Next.js",
        "fastapi" => "FastAPI",
        "grpc" => "gRPC",
        "react-native" => "React Native",
        "php" => "PHP",
        _ => return title_case(tag),
    };
    known.to_string()
}

/// "tax-quotes" → "TaxQuotes".
fn camel(name: &str) -> String {
    title_case(name).replace(' ', "")
}

/// "TaxQuote" → "tax quote".
/// "Order" → "an order", "TaxQuote" → "a tax quote".
fn with_article(schema: &str) -> String {
    let one = spaced_lower(schema);
    let article = if one.starts_with(['a', 'e', 'i', 'o', 'u']) { "an" } else { "a" };
    format!("{article} {one}")
}

fn spaced_lower(schema: &str) -> String {
    let mut out = String::new();
    for (i, c) in schema.chars().enumerate() {
        if c.is_uppercase() && i > 0 {
            out.push(' ');
        }
        out.extend(c.to_lowercase());
    }
    out
}

fn repo_links(name: &str) -> Value {
    json!([
        {"url": format!("https://git.acme.example/acme-retail/{name}"), "title": "Repository", "icon": "code"},
        {"url": format!("https://grafana.acme.example/d/{name}"), "title": "Dashboard", "icon": "dashboard"},
        {"url": format!("https://runbooks.acme.example/{name}"), "title": "Runbook", "icon": "docs"},
    ])
}

fn component_annotations(name: &str, owner: &str, docs: bool) -> Value {
    let mut a = json!({
        "backstage.io/source-location": format!("url:https://git.acme.example/acme-retail/{name}/"),
        "acme.example/on-call": format!("{owner}-primary"),
    });
    if docs {
        a["backstage.io/techdocs-ref"] = json!("dir:.");
    }
    a
}

/// The library every service in `language` builds on, if there is one.
fn service_kit(language: &str) -> Option<String> {
    let name = format!("service-kit-{language}");
    LIBRARIES.iter().any(|l| l.0 == name).then_some(name)
}

fn systems_services(entities: &mut Vec<Value>, index: usize, s: &System) {
    entities.push(entity(
        V1,
        "System",
        json!({"name": s.name, "title": s.title, "description": s.description, "tags": [s.domain],
            "links": [{"url": format!("https://wiki.acme.example/systems/{}", s.name), "title": "Architecture notes", "icon": "docs"}]}),
        json!({"owner": s.owner, "domain": s.domain}),
    ));
    for (i, service) in s.services.iter().enumerate() {
        let name = service.name;
        let title = title_case(name);
        let tier =
            if matches!(s.domain, "commerce" | "finance") && service.lifecycle == PRODUCTION { "1" } else { "2" };
        let mut provides = Vec::new();
        let mut depends = Vec::new();
        if let Some(kit) = service_kit(s.language) {
            depends.push(format!("component:{kit}"));
        }
        if s.domain == "finance" {
            depends.push("component:money".to_string());
        }
        if let Some(store) = store_resource(service) {
            depends.push(format!("resource:{store}"));
        }
        match service.api {
            Rest | RestAndEvents => {
                provides.push(format!("{name}-api"));
                let summary = format!("The REST API of {}. {}", name.replace('-', " "), service.description);
                let definition = openapi_definition(&format!("{title} API"), service, &summary, index + i);
                entities.push(api_entity(
                    s,
                    service,
                    "openapi",
                    &format!("{name}-api"),
                    &format!("{title} API"),
                    &summary,
                    definition,
                ));
            }
            Graphql => {
                provides.push(format!("{name}-graphql"));
                let summary = format!("The GraphQL API of {}. {}", name.replace('-', " "), service.description);
                let definition = graphql_definition(service);
                entities.push(api_entity(
                    s,
                    service,
                    "graphql",
                    &format!("{name}-graphql"),
                    &format!("{title} GraphQL"),
                    &summary,
                    definition,
                ));
            }
            Worker => {}
        }
        if service.api == RestAndEvents {
            provides.push(format!("{name}-events"));
            let summary = format!("Events {name} publishes on Kafka when {} changes.", with_article(service.schema));
            let definition = asyncapi_definition(&title, service);
            entities.push(api_entity(
                s,
                service,
                "asyncapi",
                &format!("{name}-events"),
                &format!("{title} events"),
                &summary,
                definition,
            ));
            depends.push("component:event-schemas".to_string());
            relay(entities, s, service);
        }
        let consumes: Vec<&str> =
            s.calls.iter().filter(|(who, _)| *who == name).flat_map(|(_, apis)| apis.iter().copied()).collect();
        let description = format!(
            "{} Written in {} with {}; owned by the {} team.",
            service.description,
            display_name(s.language),
            display_name(s.framework),
            s.owner
        );
        let mut spec = json!({"type": "service", "lifecycle": service.lifecycle, "owner": s.owner, "system": s.name});
        set_list(&mut spec, "providesApis", provides);
        set_list(&mut spec, "consumesApis", consumes.into_iter().map(String::from).collect());
        set_list(&mut spec, "dependsOn", depends);
        entities.push(entity(
            V1,
            "Component",
            json!({"name": name, "title": title, "description": description,
                "labels": {"acme.example/tier": tier},
                "annotations": component_annotations(name, s.owner, service.lifecycle != DEPRECATED),
                "tags": [s.language, s.framework, s.domain],
                "links": repo_links(name)}),
            spec,
        ));
    }
}

fn set_list(spec: &mut Value, key: &str, items: Vec<String>) {
    if !items.is_empty() {
        spec[key] = json!(items);
    }
}

/// The resource that holds a service's state, written out with the service's system.
fn store_resource(service: &Service) -> Option<String> {
    let suffix = match service.store {
        Postgres | Mysql => "db",
        Redis => "cache",
        Search => "index",
        Stateless => return None,
    };
    Some(format!("{}-{suffix}", service.name))
}

fn api_entity(
    s: &System,
    service: &Service,
    kind: &str,
    name: &str,
    title: &str,
    summary: &str,
    definition: String,
) -> Value {
    let protocol = match kind {
        "openapi" => "rest",
        "asyncapi" => "kafka",
        _ => "graphql",
    };
    entity(
        V1,
        "API",
        json!({"name": name, "title": title, "description": summary, "tags": [protocol, s.domain],
            "links": [{"url": format!("https://api.acme.example/docs/{name}"), "title": "API reference", "icon": "docs"}]}),
        json!({"type": kind, "lifecycle": service.lifecycle, "owner": s.owner, "system": s.name, "definition": definition}),
    )
}

/// The outbox relay of a service that publishes events, and the Kafka topic it writes to.
fn relay(entities: &mut Vec<Value>, s: &System, service: &Service) {
    let name = format!("{}-relay", service.name);
    let topic = format!("{}-topic", service.name);
    let mut depends = vec![format!("resource:{topic}")];
    if let Some(store) = store_resource(service) {
        depends.push(format!("resource:{store}"));
    }
    entities.push(entity(
        V1,
        "Component",
        json!({"name": name, "title": format!("{} relay", title_case(service.name)),
            "description": format!("Publishes the outbox of {} to its Kafka topic, in commit order and at least once.", service.name),
            "annotations": component_annotations(&name, s.owner, false),
            "tags": [s.language, "kafka", "outbox"]}),
        json!({"type": "service", "lifecycle": service.lifecycle, "owner": s.owner, "system": s.name,
            "subcomponentOf": service.name, "dependsOn": depends}),
    ));
    entities.push(entity(
        V1,
        "Resource",
        json!({"name": topic, "title": format!("{} topic", title_case(service.name)),
            "description": format!("The Kafka topic `{}.events`: seven days of retention, twelve partitions keyed by {} id.",
                service.name, spaced_lower(service.schema)),
            "tags": ["kafka"]}),
        json!({"type": "kafka-topic", "owner": s.owner, "system": s.name, "dependsOn": ["resource:kafka"]}),
    ));
}

fn frontends_and_libraries(entities: &mut Vec<Value>) {
    for (name, kind, system, owner, language, framework, lifecycle, calls, description) in FRONTENDS {
        let mut depends = Vec::new();
        if *language == "typescript" {
            depends.extend(["component:ui-kit".to_string(), "component:feature-flags".to_string()]);
        }
        if let Some(kit) = service_kit(language).filter(|_| *kind != "mobile-app") {
            depends.push(format!("component:{kit}"));
        }
        let mut spec =
            json!({"type": kind, "lifecycle": lifecycle, "owner": owner, "system": system, "consumesApis": calls});
        set_list(&mut spec, "dependsOn", depends);
        entities.push(entity(
            V1,
            "Component",
            json!({"name": name, "title": title_case(name), "description": description,
                "annotations": component_annotations(name, owner, *lifecycle != DEPRECATED),
                "tags": [language, framework], "links": repo_links(name)}),
            spec,
        ));
    }
    for (name, owner, language, lifecycle, description) in LIBRARIES {
        entities.push(entity(
            V1,
            "Component",
            json!({"name": name, "title": title_case(name), "description": description,
                "annotations": component_annotations(name, owner, true),
                "tags": [language, "library"],
                "links": [{"url": format!("https://git.acme.example/acme-retail/{name}"), "title": "Repository", "icon": "code"}]}),
            json!({"type": "library", "lifecycle": lifecycle, "owner": owner}),
        ));
    }
}

fn infrastructure(entities: &mut Vec<Value>) {
    for (name, kind, owner, technology, description) in CLUSTERS {
        entities.push(entity(
            V1,
            "Resource",
            json!({"name": name, "title": title_case(name), "description": description, "tags": [technology, "shared"],
                "links": [{"url": format!("https://grafana.acme.example/d/{name}"), "title": "Dashboard", "icon": "dashboard"}]}),
            json!({"type": kind, "owner": owner}),
        ));
    }
    for s in SYSTEMS {
        for service in s.services {
            let Some(name) = store_resource(service) else { continue };
            let (kind, technology, cluster) = match service.store {
                Postgres if s.domain == "finance" => ("database", "postgresql", "postgres-pci"),
                Postgres => ("database", "postgresql", "postgres-main"),
                Mysql => ("database", "mysql", "mysql-legacy"),
                Redis => ("cache", "redis", "redis-main"),
                _ => ("search-index", "elasticsearch", "elasticsearch"),
            };
            let description = format!(
                "The {} of {}, on {cluster}. Backed up with the cluster; schema changes go through migrations in the service's repository.",
                kind.replace('-', " "),
                service.name
            );
            entities.push(entity(
                V1,
                "Resource",
                json!({"name": name, "title": format!("{} {}", title_case(service.name), kind.replace('-', " ")),
                    "description": description, "tags": [technology]}),
                json!({"type": kind, "owner": s.owner, "system": s.name, "dependsOn": [format!("resource:{cluster}")]}),
            ));
        }
    }
    for (name, owner, system, users, description) in BUCKETS {
        let users: Vec<String> = users.iter().map(|u| format!("component:{u}")).collect();
        entities.push(entity(
            V1,
            "Resource",
            json!({"name": name, "title": title_case(name), "description": description, "tags": ["s3"]}),
            json!({"type": "s3-bucket", "owner": owner, "system": system, "dependencyOf": users}),
        ));
    }
    entities.push(entity(
        V1,
        "Resource",
        json!({"name": "data-warehouse", "title": "Data warehouse",
            "description": "The analytics warehouse: orders, payments, stock and click-stream, modelled for reporting.",
            "tags": ["sql", "analytics"]}),
        json!({"type": "database", "owner": "data", "system": "data-platform",
            "dependencyOf": ["component:warehouse-loader", "component:reporting"]}),
    ));
}

fn environments(entities: &mut Vec<Value>) {
    let envs = [
        ("development", "Shared development cluster; anyone may deploy, data is synthetic and reset every Sunday."),
        ("staging", "A copy of production with anonymised data; deploys need a green pipeline."),
        ("production", "What customers use. Deploys need an approval from the owning team and run as canaries."),
    ];
    for (name, description) in envs {
        entities.push(entity(
            ENVIRONMENT,
            "Environment",
            json!({"name": name, "title": title_case(name), "description": description,
                "links": [{"url": format!("https://console.acme.example/{name}"), "title": "Cluster console"}]}),
            json!({"tier": name, "lifecycle": PRODUCTION}),
        ));
    }
}

fn templates(entities: &mut Vec<Value>) {
    let templates = [
        (
            "spring-boot-service",
            "Spring Boot service",
            "service",
            "java",
            "A Java service on service-kit-java: REST API, PostgreSQL, pipeline and dashboards.",
        ),
        (
            "go-service",
            "Go service",
            "service",
            "go",
            "A Go gRPC and REST service on service-kit-go, with its pipeline and dashboards.",
        ),
        (
            "react-website",
            "React website",
            "website",
            "typescript",
            "A React website with the shop's ui-kit, served from the edge.",
        ),
        (
            "documentation-site",
            "Documentation site",
            "documentation",
            "markdown",
            "A Markdown documentation site that the portal builds and shows.",
        ),
    ];
    for (name, title, kind, language, description) in templates {
        let parameters = json!([
            {"title": "About the component", "required": ["name", "owner"], "properties": {
                "name": {"title": "Name", "type": "string", "pattern": "^[a-z0-9]+(-[a-z0-9]+)*$", "description": "Lowercase words joined by dashes."},
                "description": {"title": "Description", "type": "string"},
                "owner": {"title": "Owner", "type": "string", "ui:field": "OwnerPicker", "ui:options": {"catalogFilter": {"kind": "Group"}}},
                "system": {"title": "System", "type": "string", "ui:field": "EntityPicker", "ui:options": {"catalogFilter": {"kind": "System"}}}}},
            {"title": "Repository", "required": ["repoName"], "properties": {
                "repoName": {"title": "Repository name", "type": "string"}}},
        ]);
        let steps = json!([
            {"id": "fetch", "name": "Fetch the skeleton", "action": "fetch:template",
                "input": {"url": format!("./skeletons/{name}"), "values": {
                    "name": "${{ parameters.name }}", "owner": "${{ parameters.owner }}", "system": "${{ parameters.system }}"}}},
            {"id": "publish", "name": "Create the repository", "action": "publish:gitea",
                "input": {"repoUrl": "git.acme.example?owner=acme-retail&repo=${{ parameters.repoName }}", "defaultBranch": "main"}},
            {"id": "register", "name": "Register in the catalog", "action": "catalog:register",
                "input": {"repoContentsUrl": "${{ steps.publish.output.repoContentsUrl }}", "catalogInfoPath": "/catalog-info.yaml"}},
        ]);
        entities.push(entity(
            SCAFFOLDER,
            "Template",
            json!({"name": name, "title": title, "description": description, "tags": [language, "recommended"]}),
            json!({"owner": "platform", "type": kind, "parameters": parameters, "steps": steps,
                "output": {"links": [
                    {"title": "Repository", "url": "${{ steps.publish.output.remoteUrl }}"},
                    {"title": "Open in the catalog", "icon": "catalog", "entityRef": "${{ steps.register.output.entityRef }}"}]}}),
        ));
    }
}

/// A small but complete OpenAPI 3 document: list, create and fetch one, with their schemas.
fn openapi_definition(title: &str, service: &Service, description: &str, minor: usize) -> String {
    let (path, schema) = (service.path, service.schema);
    let plural = path.replace('-', " ");
    let one = spaced_lower(schema);
    let a_one = with_article(schema);
    let plural_camel = camel(path);
    let mut description_yaml = String::new();
    quote(&mut description_yaml, description);
    format!(
        r#"openapi: 3.0.3
info:
  title: {title}
  version: 1.{minor}.0
  description: {description_yaml}
servers:
  - url: https://api.acme.example/{name}/v1
paths:
  /{path}:
    get:
      operationId: list{plural_camel}
      summary: List {plural}
      parameters:
        - name: limit
          in: query
          description: How many {plural} to return, at most 100.
          schema:
            type: integer
            minimum: 1
            maximum: 100
            default: 20
        - name: cursor
          in: query
          description: The cursor from the previous page's `next` field.
          schema:
            type: string
      responses:
        '200':
          description: One page of {plural}.
          content:
            application/json:
              schema:
                $ref: '#/components/schemas/{schema}Page'
    post:
      operationId: create{schema}
      summary: Create {a_one}
      requestBody:
        required: true
        content:
          application/json:
            schema:
              $ref: '#/components/schemas/{schema}'
      responses:
        '201':
          description: The {one} was created.
        '422':
          description: The {one} is not valid; the body lists each problem with its field.
  /{path}/{{id}}:
    get:
      operationId: get{schema}
      summary: Fetch one {one}
      parameters:
        - name: id
          in: path
          required: true
          schema:
            type: string
      responses:
        '200':
          description: The {one}.
          content:
            application/json:
              schema:
                $ref: '#/components/schemas/{schema}'
        '404':
          description: No {one} has this id.
components:
  schemas:
    {schema}:
      type: object
      required: [id, createdAt]
      properties:
        id:
          type: string
          example: {example}_01HZX3
        createdAt:
          type: string
          format: date-time
        updatedAt:
          type: string
          format: date-time
    {schema}Page:
      type: object
      required: [items]
      properties:
        items:
          type: array
          items:
            $ref: '#/components/schemas/{schema}'
        next:
          type: string
          nullable: true
"#,
        name = service.name,
        example = one.replace(' ', "_"),
    )
}

fn asyncapi_definition(title: &str, service: &Service) -> String {
    let (name, schema) = (service.name, service.schema);
    let one = spaced_lower(schema);
    let a_one = with_article(schema);
    format!(
        r#"asyncapi: 2.6.0
info:
  title: {title} events
  version: 1.0.0
  description: What happens to {a_one}, published after each change is committed.
servers:
  production:
    url: kafka.acme.example:9092
    protocol: kafka
channels:
  {name}.events:
    subscribe:
      operationId: on{schema}Event
      message:
        oneOf:
          - $ref: '#/components/messages/{schema}Created'
          - $ref: '#/components/messages/{schema}Changed'
components:
  messages:
    {schema}Created:
      name: {schema}Created
      contentType: application/json
      payload:
        $ref: '#/components/schemas/{schema}Event'
    {schema}Changed:
      name: {schema}Changed
      contentType: application/json
      payload:
        $ref: '#/components/schemas/{schema}Event'
  schemas:
    {schema}Event:
      type: object
      required: [id, occurredAt]
      properties:
        id:
          type: string
          description: The {one}'s id.
        occurredAt:
          type: string
          format: date-time
        version:
          type: integer
"#
    )
}

fn graphql_definition(service: &Service) -> String {
    let schema = service.schema;
    let one = spaced_lower(schema);
    format!(
        r#""""The {one}s the shop shows, read-only."""
type Query {{
  "One {one} by its id."
  {field}(id: ID!): {schema}
  "A page of {one}s, newest first."
  {field}s(first: Int = 20, after: String): {schema}Connection!
}}

type {schema} {{
  id: ID!
  title: String!
  updatedAt: String!
}}

type {schema}Connection {{
  nodes: [{schema}!]!
  endCursor: String
  hasNextPage: Boolean!
}}
"#,
        field = one.replace(' ', "_")
    )
}

// ---- Writing YAML from JSON values ----

/// The order of well-known keys, so documents read as people write them (`name` first).
fn key_rank(key: &str) -> usize {
    [
        "apiVersion",
        "kind",
        "metadata",
        "spec",
        "id",
        "name",
        "url",
        "title",
        "description",
        "type",
        "lifecycle",
        "owner",
        "system",
    ]
    .iter()
    .position(|k| *k == key)
    .unwrap_or(usize::MAX)
}

fn pad(out: &mut String, indent: usize) {
    out.extend(std::iter::repeat_n(' ', indent));
}

/// `text` as a YAML double-quoted scalar (JSON's escapes are YAML's), so no value can change
/// meaning: not a version such as `1.0`, not a `#`, not a `: `.
fn quote(out: &mut String, text: &str) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

fn emit_key(out: &mut String, key: &str) {
    let plain = key.starts_with(|c: char| c.is_ascii_alphabetic() || c == '$')
        && key.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/' | '$'));
    if plain { out.push_str(key) } else { quote(out, key) }
}

fn emit_document(out: &mut String, value: &Value) {
    out.push_str("---\n");
    if let Value::Object(map) = value {
        emit_mapping(out, map, 0, false);
    }
}

/// A block mapping at `indent`; with `inline_first` its first key follows a `- ` already written.
fn emit_mapping(out: &mut String, map: &Map<String, Value>, indent: usize, inline_first: bool) {
    let mut keys: Vec<&String> = map.keys().collect();
    keys.sort_by_key(|k| key_rank(k));
    for (i, key) in keys.into_iter().enumerate() {
        if i > 0 || !inline_first {
            pad(out, indent);
        }
        emit_key(out, key);
        out.push(':');
        match &map[key] {
            Value::Object(m) if !m.is_empty() => {
                out.push('\n');
                emit_mapping(out, m, indent + 2, false);
            }
            Value::Array(items) if !items.is_empty() => {
                out.push('\n');
                emit_sequence(out, items, indent + 2);
            }
            scalar => {
                out.push(' ');
                emit_scalar(out, scalar, indent + 2);
            }
        }
    }
}

fn emit_sequence(out: &mut String, items: &[Value], indent: usize) {
    for item in items {
        pad(out, indent);
        out.push('-');
        match item {
            Value::Object(m) if !m.is_empty() => {
                out.push(' ');
                emit_mapping(out, m, indent + 2, true);
            }
            Value::Array(inner) if !inner.is_empty() => {
                out.push('\n');
                emit_sequence(out, inner, indent + 2);
            }
            scalar => {
                out.push(' ');
                emit_scalar(out, scalar, indent + 2);
            }
        }
    }
}

/// A scalar and its line end. Text of several lines becomes a literal block (`|`) indented to
/// `indent`, as an inline API definition is written by hand.
fn emit_scalar(out: &mut String, value: &Value, indent: usize) {
    match value {
        Value::String(s) if is_block(s) => {
            out.push_str(if s.ends_with('\n') { "|\n" } else { "|-\n" });
            for line in s.lines() {
                if !line.is_empty() {
                    pad(out, indent);
                    out.push_str(line);
                }
                out.push('\n');
            }
            return;
        }
        Value::String(s) if is_plain(s) => out.push_str(s),
        Value::String(s) => quote(out, s),
        Value::Array(_) => out.push_str("[]"),
        Value::Object(_) => out.push_str("{}"),
        other => {
            let _ = write!(out, "{other}");
        }
    }
    out.push('\n');
}

/// Whether `s` reads back as the same text without quotes: a word of letters, digits and
/// `-_./:` that starts with a letter (so it is never a number), has no `:` at its end (so it is
/// never a key) and is not one of the words YAML reads as a boolean or null.
fn is_plain(s: &str) -> bool {
    s.starts_with(|c: char| c.is_ascii_alphabetic())
        && !s.ends_with(':')
        && s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/' | ':'))
        && !["true", "false", "null", "yes", "no", "on", "off", "y", "n"].iter().any(|w| s.eq_ignore_ascii_case(w))
}

/// Whether `s` can be written as a literal block that reads back exactly: several lines, not
/// starting with a space (which would need an indentation indicator), at most one final line end.
fn is_block(s: &str) -> bool {
    s.contains('\n') && !s.ends_with("\n\n") && !s.starts_with([' ', '\t']) && !s.contains('\r')
}

// ---- Generated catalogs for the benchmark ----

/// A xorshift64* generator seeded through splitmix64, so that neighbouring seeds give unrelated
/// streams. Enough for test data; not for anything that must be unpredictable.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        Rng(if z == 0 { 0x2545_F491_4F6C_DD1D } else { z })
    }

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `0..n`; `n` must not be 0.
    fn below(&mut self, n: usize) -> usize {
        ((self.next() >> 11) % n as u64) as usize
    }

    fn percent(&mut self, p: u64) -> bool {
        (self.next() >> 11) % 100 < p
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// (singular, plural, schema).
const NOUNS: &[(&str, &str, &str)] = &[
    ("order", "orders", "Order"),
    ("payment", "payments", "Payment"),
    ("invoice", "invoices", "Invoice"),
    ("cart", "carts", "Cart"),
    ("price", "prices", "Price"),
    ("stock", "stock-levels", "StockLevel"),
    ("parcel", "parcels", "Parcel"),
    ("customer", "customers", "Customer"),
    ("account", "accounts", "Account"),
    ("review", "reviews", "Review"),
    ("product", "products", "Product"),
    ("coupon", "coupons", "Coupon"),
    ("refund", "refunds", "Refund"),
    ("ledger", "ledger-entries", "LedgerEntry"),
    ("shipment", "shipments", "Shipment"),
    ("supplier", "suppliers", "Supplier"),
    ("warehouse", "warehouses", "Warehouse"),
    ("label", "labels", "Label"),
    ("session", "sessions", "Session"),
    ("consent", "consents", "Consent"),
    ("report", "reports", "Report"),
    ("alert", "alerts", "Alert"),
    ("build", "builds", "Build"),
    ("deployment", "deployments", "Deployment"),
    ("feature", "features", "Feature"),
    ("address", "addresses", "Address"),
    ("tax", "tax-quotes", "TaxQuote"),
    ("loyalty", "loyalty-points", "LoyaltyPoint"),
    ("gift-card", "gift-cards", "GiftCard"),
    ("return", "returns", "Return"),
    ("media", "media-assets", "MediaAsset"),
    ("notification", "notifications", "Notification"),
    ("subscription", "subscriptions", "Subscription"),
    ("recommendation", "recommendations", "Recommendation"),
    ("search", "searches", "Search"),
    ("voucher", "vouchers", "Voucher"),
];

/// (name part, what it does, as a verb phrase).
const ROLES: &[(&str, &str)] = &[
    ("service", "owns the lifecycle of"),
    ("gateway", "fronts the external providers of"),
    ("router", "routes requests about"),
    ("worker", "processes queued work on"),
    ("sync", "keeps partner systems in step with"),
    ("indexer", "indexes"),
    ("scheduler", "schedules jobs over"),
    ("adapter", "translates between our model and legacy formats of"),
    ("processor", "validates and enriches"),
    ("tracker", "tracks changes to"),
    ("exporter", "exports"),
    ("importer", "imports"),
    ("reconciler", "reconciles"),
    ("notifier", "notifies customers about"),
    ("aggregator", "aggregates"),
];

/// (language tag, framework tag, language and framework as written).
const STACKS: &[(&str, &str, &str, &str)] = &[
    ("java", "spring-boot", "Java", "Spring Boot"),
    ("kotlin", "ktor", "Kotlin", "Ktor"),
    ("go", "grpc", "Go", "gRPC"),
    ("rust", "axum", "Rust", "axum"),
    ("python", "fastapi", "Python", "FastAPI"),
    ("typescript", "node", "TypeScript", "Node.js"),
    ("typescript", "react", "TypeScript", "React"),
    ("c#", "dotnet", "C#", ".NET"),
];

const AREAS: &[&str] = &[
    "commerce",
    "finance",
    "logistics",
    "identity",
    "platform",
    "marketing",
    "marketplace",
    "customer",
    "data",
    "mobile",
];
const SYSTEM_WORDS: &[&str] = &["platform", "management", "hub", "suite", "core", "engine"];

/// (type, name part, technology tag, written as).
const RESOURCE_KINDS: &[(&str, &str, &str, &str)] = &[
    ("database", "db", "postgresql", "PostgreSQL database"),
    ("database", "db", "mysql", "MySQL database"),
    ("kafka-topic", "topic", "kafka", "Kafka topic"),
    ("queue", "queue", "sqs", "queue"),
    ("s3-bucket", "bucket", "s3", "bucket"),
    ("cache", "cache", "redis", "Redis cache"),
];

/// How many of each kind a generated catalog of `n` entities has: about 2% Groups, 2.5%
/// Systems and 0.5% Domains (5% together), then half the rest Components and a quarter each
/// APIs and Resources.
struct Counts {
    groups: usize,
    domains: usize,
    systems: usize,
    resources: usize,
    apis: usize,
    components: usize,
}

impl Counts {
    fn of(n: usize) -> Counts {
        let groups = (n / 50).max(1).min(n);
        let domains = (n / 200).max(1).min(n - groups);
        let systems = (n / 40).max(1).min(n - groups - domains);
        let rest = n - groups - domains - systems;
        let apis = rest / 4;
        let resources = rest / 4;
        Counts { groups, domains, systems, resources, apis, components: rest - apis - resources }
    }
}

/// `n` entities with realistic relations, tags and descriptions, from `seed`: the same seed gives
/// the same text. Every reference resolves within the set. All entities are in the default
/// namespace, so references are written as bare names where the field has a default kind.
pub fn generated_catalog(n: usize, seed: u64) -> String {
    let c = Counts::of(n);
    let mut rng = Rng::new(seed);
    let mut out = String::with_capacity(n * 900);

    // Names first: references may point forwards as well as backwards.
    let groups: Vec<String> = (0..c.groups).map(|i| format!("{}-team-{i}", rng.pick(NOUNS).0)).collect();
    let domains: Vec<String> = (0..c.domains).map(|i| format!("{}-{i}", rng.pick(AREAS))).collect();
    let systems: Vec<String> =
        (0..c.systems).map(|i| format!("{}-{}-{i}", rng.pick(NOUNS).0, rng.pick(SYSTEM_WORDS))).collect();
    let system_owner: Vec<usize> = (0..c.systems).map(|_| rng.below(c.groups)).collect();
    let component_noun: Vec<usize> = (0..c.components).map(|_| rng.below(NOUNS.len())).collect();
    let component_role: Vec<usize> = (0..c.components).map(|_| rng.below(ROLES.len())).collect();
    let components: Vec<String> = (0..c.components)
        .map(|i| format!("{}-{}-{i}", NOUNS[component_noun[i]].0, ROLES[component_role[i]].0))
        .collect();
    // API i is provided by component i; the APIs beyond the components are nobody's.
    let api_noun: Vec<usize> =
        (0..c.apis).map(|i| component_noun.get(i).copied().unwrap_or_else(|| rng.below(NOUNS.len()))).collect();
    let apis: Vec<String> =
        api_noun.iter().enumerate().map(|(i, &noun)| format!("{}-api-{i}", NOUNS[noun].0)).collect();
    let resource_kind: Vec<usize> = (0..c.resources).map(|_| rng.below(RESOURCE_KINDS.len())).collect();
    let resources: Vec<String> = resource_kind
        .iter()
        .enumerate()
        .map(|(i, &k)| format!("{}-{}-{i}", rng.pick(NOUNS).0, RESOURCE_KINDS[k].1))
        .collect();
    let component_system: Vec<usize> = (0..c.components).map(|_| rng.below(c.systems.max(1))).collect();

    for (i, name) in groups.iter().enumerate() {
        let kind = match i {
            0 => "organization",
            1..=4 => "business-unit",
            _ => "team",
        };
        let title = title_case(name);
        emit!(out, "---\napiVersion: {V1}\nkind: Group\nmetadata:\n  name: {name}\n  title: \"{title}\"\n");
        emit!(out, "  description: \"The {title} builds and runs its services end to end, on call included.\"\n");
        emit!(
            out,
            "spec:\n  type: {kind}\n  profile:\n    displayName: \"{title}\"\n    email: \"{name}@example.com\"\n"
        );
        if i > 0 {
            emit!(out, "  parent: {}\n", groups[(i - 1) / 4]);
        }
        let children = (4 * i + 1..=4 * i + 4).filter(|&j| j < groups.len());
        write_refs(&mut out, "children", "", children.map(|j| &groups[j]));
    }
    for (i, name) in domains.iter().enumerate() {
        let owner = &groups[rng.below(groups.len())];
        let title = title_case(name);
        emit!(out, "---\napiVersion: {V1}\nkind: Domain\nmetadata:\n  name: {name}\n  title: \"{title}\"\n");
        emit!(out, "  description: \"The {title} domain: its systems share a language and a roadmap.\"\n");
        emit!(out, "spec:\n  owner: {owner}\n");
        if i > 0 && rng.percent(25) {
            emit!(out, "  subdomainOf: {}\n", domains[rng.below(i)]);
        }
    }
    for (i, name) in systems.iter().enumerate() {
        let owner = &groups[system_owner[i]];
        let title = title_case(name);
        emit!(out, "---\napiVersion: {V1}\nkind: System\nmetadata:\n  name: {name}\n  title: \"{title}\"\n");
        emit!(
            out,
            "  description: \"{title} groups the services, APIs and data behind one capability, run by {owner}.\"\n"
        );
        emit!(out, "spec:\n  owner: {owner}\n");
        if !domains.is_empty() {
            emit!(out, "  domain: {}\n", domains[rng.below(domains.len())]);
        }
    }
    for (i, name) in resources.iter().enumerate() {
        let (kind, _, technology, written) = RESOURCE_KINDS[resource_kind[i]];
        let owner = &groups[rng.below(groups.len())];
        let title = title_case(name);
        emit!(out, "---\napiVersion: {V1}\nkind: Resource\nmetadata:\n  name: {name}\n  title: \"{title}\"\n");
        emit!(
            out,
            "  description: \"A {written} owned by {owner}. Access is granted per service; ask in the team channel.\"\n"
        );
        emit!(out, "  tags:\n    - {technology}\n");
        emit!(out, "spec:\n  type: {kind}\n  owner: {owner}\n");
        if !systems.is_empty() {
            emit!(out, "  system: {}\n", systems[rng.below(systems.len())]);
        }
        if i > 0 && rng.percent(10) {
            write_refs(&mut out, "dependsOn", "resource:", [&resources[rng.below(i)]]);
        }
        if !components.is_empty() && rng.percent(20) {
            write_refs(&mut out, "dependencyOf", "component:", [&components[rng.below(components.len())]]);
        }
    }
    for (i, name) in apis.iter().enumerate() {
        let (singular, plural, schema) = NOUNS[api_noun[i]];
        let (owner, system) = match component_system.get(i) {
            Some(&s) if !systems.is_empty() => (&groups[system_owner[s]], Some(&systems[s])),
            _ => (&groups[rng.below(groups.len())], systems.get(rng.below(systems.len().max(1)))),
        };
        let (kind, written) = match rng.below(100) {
            0..80 => ("openapi", "REST API"),
            80..92 => ("asyncapi", "event stream"),
            _ => ("graphql", "GraphQL API"),
        };
        let lifecycle = lifecycle(&mut rng);
        let title = title_case(name);
        emit!(out, "---\napiVersion: {V1}\nkind: API\nmetadata:\n  name: {name}\n  title: \"{title}\"\n");
        emit!(
            out,
            "  description: \"The {written} for {plural}: read it before you integrate, and try it against staging first.\"\n"
        );
        emit!(out, "  tags:\n    - {kind}\n    - {singular}\n");
        emit!(out, "spec:\n  type: {kind}\n  lifecycle: {lifecycle}\n  owner: {owner}\n");
        if let Some(system) = system {
            emit!(out, "  system: {system}\n");
        }
        out.push_str("  definition: |\n");
        let minor = rng.below(20);
        match kind {
            "openapi" => compact_openapi(&mut out, &title, minor, singular, plural),
            "asyncapi" => compact_asyncapi(&mut out, &title, minor, singular, schema),
            _ => compact_graphql(&mut out, schema),
        }
    }
    for (i, name) in components.iter().enumerate() {
        let (singular, plural, _) = NOUNS[component_noun[i]];
        let role = ROLES[component_role[i]].1;
        let system = systems.get(component_system[i]);
        let owner = match system {
            Some(_) if rng.percent(85) => &groups[system_owner[component_system[i]]],
            _ => &groups[rng.below(groups.len())],
        };
        let (language, framework, written, framework_written) = *rng.pick(STACKS);
        let kind = match rng.below(100) {
            0..70 => "service",
            70..85 => "website",
            _ => "library",
        };
        let lifecycle = lifecycle(&mut rng);
        let title = title_case(name);
        emit!(out, "---\napiVersion: {V1}\nkind: Component\nmetadata:\n  name: {name}\n  title: \"{title}\"\n");
        emit!(out, "  description: \"{title} {role} {plural}");
        if let Some(system) = system {
            emit!(out, " for the {system} system");
        }
        emit!(
            out,
            ". It is written in {written} with {framework_written} and deployed to development, staging and production. "
        );
        emit!(out, "On-call questions go to {owner}; the runbook and dashboards are linked below.\"\n");
        emit!(out, "  tags:\n    - {language}\n    - {framework}\n    - {singular}\n");
        emit!(
            out,
            "  annotations:\n    backstage.io/source-location: \"url:https://git.example.com/generated/{name}/\"\n"
        );
        if rng.percent(40) {
            out.push_str("    backstage.io/techdocs-ref: \"dir:.\"\n");
        }
        emit!(out, "  links:\n    - url: \"https://git.example.com/generated/{name}\"\n      title: Repository\n");
        emit!(out, "spec:\n  type: {kind}\n  lifecycle: {lifecycle}\n  owner: {owner}\n");
        if let Some(system) = system {
            emit!(out, "  system: {system}\n");
        }
        if i > 0 && rng.percent(5) {
            emit!(out, "  subcomponentOf: {}\n", components[rng.below(i)]);
        }
        if let Some(api) = apis.get(i) {
            write_refs(&mut out, "providesApis", "", [api]);
        }
        if !apis.is_empty() {
            let mut consumed: Vec<usize> =
                (0..rng.below(4)).map(|_| rng.below(apis.len())).filter(|&j| j != i).collect();
            consumed.sort_unstable();
            consumed.dedup();
            write_refs(&mut out, "consumesApis", "", consumed.iter().map(|&j| &apis[j]));
        }
        let mut depends: Vec<(&str, &String)> = Vec::new();
        if !resources.is_empty() {
            for _ in 0..rng.below(3) {
                let r = &resources[rng.below(resources.len())];
                if !depends.iter().any(|(_, d)| *d == r) {
                    depends.push(("resource:", r));
                }
            }
        }
        if components.len() > 1 && rng.percent(15) {
            let j = (i + 1 + rng.below(components.len() - 1)) % components.len();
            depends.push(("component:", &components[j]));
        }
        if !depends.is_empty() {
            out.push_str("  dependsOn:\n");
            for (prefix, d) in depends {
                emit!(out, "    - {prefix}{d}\n");
            }
        }
    }
    out
}

fn lifecycle(rng: &mut Rng) -> &'static str {
    match rng.below(100) {
        0..80 => PRODUCTION,
        80..95 => EXPERIMENTAL,
        _ => DEPRECATED,
    }
}

/// A spec list of references, always written (Group `children` is required even when empty).
fn write_refs<'a>(out: &mut String, key: &str, prefix: &str, names: impl IntoIterator<Item = &'a String>) {
    let mut names = names.into_iter().peekable();
    if names.peek().is_none() {
        if key == "children" {
            out.push_str("  children: []\n");
        }
        return;
    }
    emit!(out, "  {key}:\n");
    for name in names {
        emit!(out, "    - {prefix}{name}\n");
    }
}

fn compact_openapi(out: &mut String, title: &str, minor: usize, singular: &str, plural: &str) {
    emit!(out, "    openapi: 3.0.3\n    info:\n      title: {title}\n      version: 1.{minor}.0\n    paths:\n");
    emit!(out, "      /{plural}:\n        get:\n          summary: List {plural}\n          responses:\n");
    emit!(out, "            '200':\n              description: A page of {plural}.\n");
    emit!(
        out,
        "      /{plural}/{{id}}:\n        get:\n          summary: Fetch one {singular}\n          responses:\n"
    );
    emit!(out, "            '200':\n              description: The {singular}.\n");
    emit!(out, "            '404':\n              description: No such {singular}.\n");
}

fn compact_asyncapi(out: &mut String, title: &str, minor: usize, singular: &str, schema: &str) {
    emit!(out, "    asyncapi: 2.6.0\n    info:\n      title: {title}\n      version: 1.{minor}.0\n    channels:\n");
    emit!(
        out,
        "      {singular}.changed:\n        subscribe:\n          message:\n            name: {schema}Changed\n"
    );
    emit!(out, "            payload:\n              type: object\n              properties:\n");
    emit!(out, "                id:\n                  type: string\n");
}

fn compact_graphql(out: &mut String, schema: &str) {
    emit!(
        out,
        "    type Query {{\n      item(id: ID!): {schema}\n      items(first: Int = 20): [{schema}!]!\n    }}\n"
    );
    emit!(out, "    type {schema} {{\n      id: ID!\n      name: String!\n      updatedAt: String!\n    }}\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::catalog::{Entity, RelationType, derive_relations, parse_documents, validate};
    use std::collections::{HashMap, HashSet};

    /// Parses `text`, and checks what every catalog this module writes must satisfy: every
    /// document is an entity, every entity is valid, names are unique per kind and namespace,
    /// and every relation points at an entity of the set.
    fn check(text: &str) -> Vec<Entity> {
        let entities: Vec<Entity> =
            parse_documents(text).into_iter().map(|r| r.unwrap_or_else(|e| panic!("{e}"))).collect();
        for e in &entities {
            let problems = validate(e);
            assert!(problems.is_empty(), "{}: {problems:?}", e.entity_ref());
        }
        let mut keys = HashSet::new();
        for e in &entities {
            assert!(keys.insert(e.entity_ref().key()), "{} is there twice", e.entity_ref());
        }
        for e in &entities {
            for r in derive_relations(e) {
                assert!(keys.contains(&r.target.key()), "{r}: the target is not in the catalog");
            }
        }
        entities
    }

    fn count_by_kind(entities: &[Entity]) -> HashMap<&str, usize> {
        let mut counts = HashMap::new();
        for e in entities {
            *counts.entry(e.kind.as_str()).or_default() += 1;
        }
        counts
    }

    fn related(entities: &[Entity], from: &str, relation: RelationType) -> HashSet<String> {
        entities
            .iter()
            .flat_map(derive_relations)
            .filter(|r| r.source.key() == from && r.relation == relation)
            .map(|r| r.target.key())
            .collect()
    }

    #[test]
    fn the_demo_catalog_is_valid_and_every_reference_resolves() {
        let entities = check(&demo_catalog());
        let counts = count_by_kind(&entities);
        eprintln!("demo catalog: {} entities, {counts:?}", entities.len());
        assert!((250..=350).contains(&entities.len()), "{} entities", entities.len());
        for kind in ["Domain", "System", "Group", "User", "Component", "API", "Resource", "Environment", "Template"] {
            assert!(counts.get(kind).is_some_and(|&n| n > 0), "no {kind}");
        }
        assert_eq!(counts["Domain"], 5);
        assert_eq!(counts["Environment"], 3);
    }

    #[test]
    fn the_demo_teams_and_accounts_are_in_the_catalog_with_their_memberships() {
        let entities = check(&demo_catalog());
        let keys: HashSet<String> = entities.iter().map(|e| e.entity_ref().key()).collect();
        for team in ["payments", "checkout", "platform"] {
            assert!(keys.contains(&format!("group:default/{team}")), "{team}");
            // The demo accounts must find plenty of their own team's entities on their home page.
            let owned = related(&entities, &format!("group:default/{team}"), RelationType::OwnerOf);
            assert!(owned.len() >= 20, "{team} owns only {}", owned.len());
        }
        let expected: [(&str, &[&str]); 5] = [
            ("viewer", &["payments", "checkout"]),
            ("junior", &["payments"]),
            ("senior", &["payments", "checkout"]),
            ("lead", &["payments"]),
            ("admin", &["platform"]),
        ];
        for (user, teams) in expected {
            let groups = related(&entities, &format!("user:default/{user}"), RelationType::MemberOf);
            let want: HashSet<String> = teams.iter().map(|t| format!("group:default/{t}")).collect();
            assert_eq!(groups, want, "{user}");
        }
        let children = related(&entities, "group:default/commerce-unit", RelationType::ParentOf);
        assert!(children.contains("group:default/payments") && children.contains("group:default/checkout"));
    }

    #[test]
    fn the_demo_catalog_has_docs_and_real_inline_api_definitions() {
        let entities = check(&demo_catalog());
        let with_docs = entities
            .iter()
            .filter(|e| e.metadata.annotations.get("backstage.io/techdocs-ref").is_some_and(|v| v == "dir:."))
            .count();
        assert!(with_docs >= 20, "{with_docs} entities with docs");
        let mut openapi = 0;
        for e in entities.iter().filter(|e| e.kind == "API") {
            let definition = e.spec["definition"].as_str().expect("inline definitions");
            let parsed = parse_definition(definition);
            match e.spec["type"].as_str() {
                Some("openapi") => {
                    assert_eq!(parsed["openapi"], "3.0.3", "{}", e.metadata.name);
                    let operations: usize = parsed["paths"]
                        .as_object()
                        .expect("paths")
                        .values()
                        .map(|ops| ops.as_object().map_or(0, |o| o.len()))
                        .sum();
                    assert!(operations >= 2, "{}", e.metadata.name);
                    openapi += 1;
                }
                Some("asyncapi") => assert!(parsed["channels"].is_object(), "{}", e.metadata.name),
                Some("graphql") => assert!(definition.contains("type Query {"), "{}", e.metadata.name),
                other => panic!("unexpected API type {other:?}"),
            }
        }
        assert!(openapi >= 5, "{openapi} OpenAPI definitions");
    }

    /// A YAML definition read as YAML: wrapped as the spec of a document the catalog parser reads.
    fn parse_definition(definition: &str) -> serde_json::Map<String, Value> {
        if definition.starts_with("\"\"\"") {
            return serde_json::Map::new(); // GraphQL SDL, not YAML.
        }
        let mut doc = String::from("apiVersion: example.com/v1\nkind: Definition\nmetadata:\n  name: d\nspec:\n");
        for line in definition.lines() {
            doc.push_str("  ");
            doc.push_str(line);
            doc.push('\n');
        }
        let mut results = parse_documents(&doc);
        assert_eq!(results.len(), 1);
        results.remove(0).unwrap_or_else(|e| panic!("{e}\n{definition}")).spec
    }

    #[test]
    fn the_demo_catalog_is_the_same_every_time() {
        assert_eq!(demo_catalog(), demo_catalog());
    }

    #[test]
    fn a_generated_catalog_has_n_valid_entities_whose_references_resolve() {
        let entities = check(&generated_catalog(2000, 7));
        assert_eq!(entities.len(), 2000);
        let counts = count_by_kind(&entities);
        eprintln!("generated catalog: {counts:?}");
        let structure = counts["Group"] + counts["System"] + counts["Domain"];
        assert!((80..=120).contains(&structure), "{structure} groups, systems and domains");
        assert_eq!(structure + counts["Component"] + counts["API"] + counts["Resource"], 2000);
        let relations: Vec<_> = entities.iter().flat_map(derive_relations).collect();
        assert!(relations.len() > 2000 * 4, "only {} relations", relations.len());
        // dependsOn has no default kind, so these references must name theirs; `check` has
        // validated them, and this makes sure the field is used at all.
        let depends = relations.iter().filter(|r| r.relation == RelationType::DependsOn).count();
        assert!(depends > 500, "{depends} dependsOn relations");
        assert!(entities.iter().any(|e| e.metadata.annotations.contains_key("backstage.io/techdocs-ref")));
    }

    #[test]
    fn small_generated_catalogs_are_valid_too() {
        for n in [0, 1, 2, 3, 10, 57] {
            assert_eq!(check(&generated_catalog(n, 1)).len(), n, "{n}");
        }
    }

    #[test]
    fn a_generated_catalog_depends_only_on_its_seed() {
        let a = generated_catalog(2000, 7);
        assert_eq!(a, generated_catalog(2000, 7));
        assert_ne!(a, generated_catalog(2000, 8));
    }
}
